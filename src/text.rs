//! Bilingual texts: a plain string or a `{zh, en}` map, and the report language that picks one.

use serde::{Deserialize, Serialize};

/// The language a report is written in. Chinese is the default: the guides are Chinese first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// A human-readable text: either one string for every language, or one per language.
///
/// A map with any key but `zh` and `en` is refused: in a YAML flow map, an unquoted English text
/// with a comma (`{zh: 甲, en: one, two}`) would otherwise lose what follows the comma.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Text {
    Plain(String),
    Bilingual {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zh: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        en: Option<String>,
    },
}

impl Text {
    /// The text in `lang`, falling back to the other language, then to the empty string.
    pub fn get(&self, lang: Lang) -> &str {
        match self {
            Text::Plain(s) => s,
            Text::Bilingual { zh, en } => {
                let (first, second) = match lang {
                    Lang::Zh => (zh, en),
                    Lang::En => (en, zh),
                };
                first.as_deref().or(second.as_deref()).unwrap_or("")
            }
        }
    }

    /// A text in both languages.
    pub fn bi(zh: impl Into<String>, en: impl Into<String>) -> Text {
        Text::Bilingual {
            zh: Some(zh.into()),
            en: Some(en.into()),
        }
    }

    /// Every language variant present, for checks that apply to all of them.
    pub fn variants(&self) -> Vec<&str> {
        match self {
            Text::Plain(s) => vec![s.as_str()],
            Text::Bilingual { zh, en } => zh.iter().chain(en.iter()).map(String::as_str).collect(),
        }
    }

    /// True when both a Chinese and an English text are given.
    pub fn is_bilingual(&self) -> bool {
        matches!(self, Text::Bilingual { zh: Some(zh), en: Some(en) } if !zh.trim().is_empty() && !en.trim().is_empty())
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> serde::de::Visitor<'de> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a text: a string, or a map {zh: ..., en: ...}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text::Plain(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text::Plain(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                let (mut zh, mut en) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "zh" => &mut zh,
                        "en" => &mut en,
                        other => {
                            return Err(serde::de::Error::custom(format!(
                                "'{other}' is not a language of a text (zh, en); quote a text \
                                 that holds a comma or a colon"
                            )))
                        }
                    };
                    if slot.is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "the text gives '{key}' twice"
                        )));
                    }
                    *slot = map.next_value::<Option<String>>()?;
                }
                Ok(Text::Bilingual { zh, en })
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

impl Default for Text {
    fn default() -> Self {
        Text::Plain(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unquoted_english_text_with_a_comma_is_refused_not_cut_short() {
        let cut: Result<Text, _> = serde_saphyr::from_str("{zh: 甲, en: one, two}");
        let err = cut.unwrap_err().to_string();
        assert!(err.contains("'two' is not a language"), "{err}");
        let whole: Text = serde_saphyr::from_str("{zh: 甲, en: \"one, two\"}").unwrap();
        assert_eq!(whole.get(Lang::En), "one, two");
        let plain: Text = serde_saphyr::from_str("just one").unwrap();
        assert_eq!(plain.get(Lang::Zh), "just one");
        assert!(serde_json::from_str::<Text>(r#"{"zh": "甲", "zh": "乙"}"#).is_err());
    }

    #[test]
    fn falls_back_to_the_other_language() {
        let t = Text::Bilingual {
            zh: None,
            en: Some("Intake".into()),
        };
        assert_eq!(t.get(Lang::Zh), "Intake");
        assert!(!t.is_bilingual());
        let t = Text::Bilingual {
            zh: Some("接案".into()),
            en: Some("Intake".into()),
        };
        assert_eq!(t.get(Lang::Zh), "接案");
        assert_eq!(t.get(Lang::En), "Intake");
        assert!(t.is_bilingual());
    }
}
