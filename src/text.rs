//! Bilingual texts: a plain string or a `{zh, en}` map, and the report language that picks one.

use serde::{Deserialize, Serialize};

/// The language a report is written in. Chinese is the default: the guides are Chinese first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

/// A human-readable text: either one string for every language, or one per language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

impl Default for Text {
    fn default() -> Self {
        Text::Plain(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
