//! Check digits of Chinese identifiers.

/// GB 11643-1999 citizen identity number: 17 digits and a check character (0–9 or X),
/// the check being ISO 7064 MOD 11-2 over the first 17 digits.
pub fn valid_id_number(text: &str) -> bool {
    let chars: Vec<char> = text.trim().chars().collect();
    if chars.len() != 18 {
        return false;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let mut sum = 0;
    for (c, w) in chars.iter().zip(WEIGHTS) {
        match c.to_digit(10) {
            Some(d) => sum += d * w,
            None => return false,
        }
    }
    CHECK[(sum % 11) as usize] == chars[17].to_ascii_uppercase()
}

/// GB 32100-2015 unified social credit code: 18 characters from the code's 31-character set
/// (digits and capital letters but I, O, S, V, Z), the last a MOD 31 check character.
pub fn valid_credit_code(text: &str) -> bool {
    const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let chars: Vec<char> = text.trim().chars().collect();
    if chars.len() != 18 {
        return false;
    }
    let mut values = Vec::with_capacity(18);
    for c in &chars {
        match CHARSET.find(*c) {
            Some(v) => values.push(v),
            None => return false,
        }
    }
    let sum: usize = values.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    values[17] == check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_with_a_right_check_character_are_valid() {
        // The sample number printed in GB 11643-1999.
        assert!(valid_id_number("11010519491231002X"));
        assert!(valid_id_number("11010519491231002x"));
        assert!(valid_id_number("44030519900101123X"));
    }

    #[test]
    fn id_numbers_with_a_wrong_check_or_shape_are_invalid() {
        assert!(!valid_id_number("110105194912310021"));
        assert!(!valid_id_number("440305199001011238"));
        assert!(!valid_id_number("44030519900101123"));
        assert!(!valid_id_number("4403051990010112A8"));
        assert!(!valid_id_number(""));
    }

    #[test]
    fn credit_codes_with_a_right_check_character_are_valid() {
        assert!(valid_credit_code("91350100M000100Y43"));
        assert!(valid_credit_code("52440300MJL1234565"));
        assert!(valid_credit_code("91440300MA5F00001A"));
    }

    #[test]
    fn credit_codes_with_a_wrong_check_or_a_forbidden_letter_are_invalid() {
        assert!(!valid_credit_code("91350100M000100Y44"));
        assert!(!valid_credit_code("91350100M000100YI3"));
        assert!(!valid_credit_code("91350100M000100Y4"));
        assert!(!valid_credit_code("91440300XXXXXXXXXX"));
    }
}
