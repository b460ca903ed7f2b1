//! `language-match`: the output is written in the language the user expects.
//!
//! The expected language comes from the sample's metadata (key `lang` by
//! default, an ISO 639-1 code like `de`, an ISO 639-3 code like `deu`, or a
//! tag like `de-CH`) or, when that is absent, from the language of the
//! user's messages. The output's language is detected with `whatlang`,
//! restricted to the configured `languages` (plus the expected one).
//!
//! Config: `{"metadata_key": "lang", "languages": ["en", "de", ...],
//! "min_chars": 20, "min_confidence": 0.5}`. The value is 1 when the
//! languages match and 0 when they do not; the detection confidence of the
//! output is the label `confidence`.
//!
//! The sample is skipped when a text has fewer than `min_chars` letters, when
//! the languages differ but either detection is less confident than
//! `min_confidence` (whatlang's wrong guesses on short texts come with low
//! confidence, so they never fail a sample), or when the metadata names a
//! language this metric cannot detect (a skip rather than an error: the
//! sample is fine, the metric just does not apply to it).

use caliper_sdk::{Descriptor, Error, MetaValue, Metric, Outcome, Sample};
use serde::Deserialize;
use serde_json::json;
use whatlang::{Detector, Lang};

/// Every language `whatlang` can detect, with its ISO 639-1 code. The
/// ISO 639-3 code is [`Lang::code`].
const LANGUAGES: [(&str, Lang); 70] = [
    ("af", Lang::Afr),
    ("ak", Lang::Aka),
    ("am", Lang::Amh),
    ("ar", Lang::Ara),
    ("az", Lang::Aze),
    ("be", Lang::Bel),
    ("bg", Lang::Bul),
    ("bn", Lang::Ben),
    ("ca", Lang::Cat),
    ("cs", Lang::Ces),
    ("cy", Lang::Cym),
    ("da", Lang::Dan),
    ("de", Lang::Deu),
    ("el", Lang::Ell),
    ("en", Lang::Eng),
    ("eo", Lang::Epo),
    ("es", Lang::Spa),
    ("et", Lang::Est),
    ("fa", Lang::Pes),
    ("fi", Lang::Fin),
    ("fr", Lang::Fra),
    ("gu", Lang::Guj),
    ("he", Lang::Heb),
    ("hi", Lang::Hin),
    ("hr", Lang::Hrv),
    ("hu", Lang::Hun),
    ("hy", Lang::Hye),
    ("id", Lang::Ind),
    ("it", Lang::Ita),
    ("ja", Lang::Jpn),
    ("jv", Lang::Jav),
    ("ka", Lang::Kat),
    ("km", Lang::Khm),
    ("kn", Lang::Kan),
    ("ko", Lang::Kor),
    ("la", Lang::Lat),
    ("lt", Lang::Lit),
    ("lv", Lang::Lav),
    ("mk", Lang::Mkd),
    ("ml", Lang::Mal),
    ("mr", Lang::Mar),
    ("my", Lang::Mya),
    ("nb", Lang::Nob),
    ("ne", Lang::Nep),
    ("nl", Lang::Nld),
    ("or", Lang::Ori),
    ("pa", Lang::Pan),
    ("pl", Lang::Pol),
    ("pt", Lang::Por),
    ("ro", Lang::Ron),
    ("ru", Lang::Rus),
    ("si", Lang::Sin),
    ("sk", Lang::Slk),
    ("sl", Lang::Slv),
    ("sn", Lang::Sna),
    ("sr", Lang::Srp),
    ("sv", Lang::Swe),
    ("ta", Lang::Tam),
    ("te", Lang::Tel),
    ("th", Lang::Tha),
    ("tk", Lang::Tuk),
    ("tl", Lang::Tgl),
    ("tr", Lang::Tur),
    ("uk", Lang::Ukr),
    ("ur", Lang::Urd),
    ("uz", Lang::Uzb),
    ("vi", Lang::Vie),
    ("yi", Lang::Yid),
    ("zh", Lang::Cmn),
    ("zu", Lang::Zul),
];

/// Other codes in common use for the same languages: macro-language codes
/// (`no`, `zho`, `fas`), ISO 639-2/B codes (`ger`, `fre`, ...) and `fil`.
const ALIASES: [(&str, Lang); 19] = [
    ("no", Lang::Nob),
    ("nor", Lang::Nob),
    ("zho", Lang::Cmn),
    ("chi", Lang::Cmn),
    ("fas", Lang::Pes),
    ("per", Lang::Pes),
    ("fil", Lang::Tgl),
    ("ger", Lang::Deu),
    ("fre", Lang::Fra),
    ("dut", Lang::Nld),
    ("cze", Lang::Ces),
    ("slo", Lang::Slk),
    ("gre", Lang::Ell),
    ("rum", Lang::Ron),
    ("arm", Lang::Hye),
    ("geo", Lang::Kat),
    ("wel", Lang::Cym),
    ("bur", Lang::Mya),
    ("mac", Lang::Mkd),
];

/// The default candidate languages: widely used ones that `whatlang` tells
/// apart well. Close relatives (Norwegian, Croatian/Serbian, ...) are left
/// out so they do not steal short texts; name them in `languages` if needed.
const DEFAULT_LANGUAGES: [&str; 20] = [
    "en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "fi", "cs", "ru", "uk", "tr", "ja",
    "zh", "ko", "ar", "hi",
];

/// The language for an ISO 639-1 or 639-3 code, or a tag whose primary
/// subtag is one (`de-CH`, `pt_BR`). Case-insensitive.
pub fn parse_language(code: &str) -> Option<Lang> {
    let primary = code
        .trim()
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match primary.len() {
        2 => LANGUAGES
            .iter()
            .chain(&ALIASES)
            .find(|(c, _)| *c == primary)
            .map(|&(_, lang)| lang),
        3 => Lang::from_code(primary.as_str()).or_else(|| {
            ALIASES
                .iter()
                .find(|(c, _)| *c == primary)
                .map(|&(_, lang)| lang)
        }),
        _ => None,
    }
}

/// The ISO 639-1 code of a language.
pub fn iso639_1(lang: Lang) -> &'static str {
    LANGUAGES
        .iter()
        .find(|(_, l)| *l == lang)
        .map(|(code, _)| *code)
        .unwrap_or_else(|| lang.code())
}

/// Configuration.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Metadata key holding the expected language; `null` to always use the
    /// user's messages.
    pub metadata_key: Option<String>,
    /// Candidate languages (ISO 639-1 or 639-3 codes) the detector chooses
    /// among.
    pub languages: Vec<String>,
    /// Fewest letters a text needs for its language to be identified.
    pub min_chars: usize,
    /// Lowest detection confidence (0 to 1) that can fail a sample; a
    /// mismatch below it is a skip.
    pub min_confidence: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            metadata_key: Some("lang".to_owned()),
            languages: DEFAULT_LANGUAGES.iter().map(|c| (*c).to_owned()).collect(),
            min_chars: 20,
            min_confidence: 0.5,
        }
    }
}

/// The metric.
pub struct LanguageMatch {
    metadata_key: Option<String>,
    languages: Vec<Lang>,
    detector: Detector,
    min_chars: usize,
    min_confidence: f64,
}

/// The expected language and where it came from.
struct Expected {
    lang: Lang,
    /// `metadata` or `input`.
    source: &'static str,
    /// Detection confidence (1 for metadata).
    confidence: f64,
}

impl LanguageMatch {
    /// The expected language, or the outcome to return when there is none.
    fn expected(&self, sample: &Sample) -> Result<Expected, Outcome> {
        if let Some(key) = &self.metadata_key {
            match sample.metadata.get(key) {
                None | Some(MetaValue::Null) => {}
                Some(MetaValue::Text(code)) if code.trim().is_empty() => {}
                Some(MetaValue::Text(code)) => {
                    return match parse_language(code) {
                        Some(lang) => Ok(Expected {
                            lang,
                            source: "metadata",
                            confidence: 1.0,
                        }),
                        None => Err(Outcome::skip(format!(
                            "metadata `{key}` is {code:?}, not a language this metric can detect"
                        ))
                        .with_label("expected_source", "metadata")),
                    };
                }
                Some(_) => {
                    return Err(Outcome::skip(format!(
                        "metadata `{key}` is not a text language code"
                    ))
                    .with_label("expected_source", "metadata"));
                }
            }
        }
        let reference = user_text(sample, self.min_chars);
        if reference.trim().is_empty() {
            return Err(
                Outcome::skip("no expected language: no metadata and no user message")
                    .with_label("expected_source", "input"),
            );
        }
        let info = self
            .identify(&reference, &self.detector, "the user's message")
            .map_err(|skip| skip.with_label("expected_source", "input"))?;
        Ok(Expected {
            lang: info.lang(),
            source: "input",
            confidence: info.confidence(),
        })
    }

    /// Identifies the language of `text`, or returns the skip outcome that
    /// explains why it cannot be told. Confidence is judged by the caller:
    /// it only matters when the languages differ.
    fn identify(
        &self,
        text: &str,
        detector: &Detector,
        what: &str,
    ) -> Result<whatlang::Info, Outcome> {
        let prose = prose(text);
        let letters = prose.chars().filter(|c| c.is_alphabetic()).count();
        if letters < self.min_chars {
            return Err(Outcome::skip(format!(
                "{what} is too short to tell its language ({letters} letters, min {})",
                self.min_chars
            )));
        }
        detector
            .detect(&prose)
            .ok_or_else(|| Outcome::skip(format!("cannot tell the language of {what}")))
    }
}

/// The user's text to take the expected language from: the last user
/// message, extended with earlier user messages (newest first) while it has
/// fewer than `min_letters` letters, so a German conversation whose last turn
/// is "Danke!" still counts as German. `input` when there are no user
/// messages.
fn user_text(sample: &Sample, min_letters: usize) -> String {
    let mut turns = sample
        .messages
        .iter()
        .rev()
        .filter(|m| m.role == "user" && !m.content.trim().is_empty())
        .map(|m| m.content.as_str())
        .peekable();
    if turns.peek().is_none() {
        return sample.last_user_text().to_owned();
    }
    let mut parts = Vec::new();
    let mut letters = 0;
    for turn in turns {
        parts.push(turn);
        letters += turn.chars().filter(|c| c.is_alphabetic()).count();
        if letters >= min_letters {
            break;
        }
    }
    parts.reverse();
    parts.join("\n")
}

/// `text` without what is not natural language: fenced code blocks, inline
/// code spans and URLs (an English code sample must not make a German answer
/// English).
fn prose(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        for (i, span) in line.split('`').enumerate() {
            // Odd pieces lie between backticks: inline code.
            if i % 2 == 1 {
                out.push(' ');
                continue;
            }
            for word in span.split_whitespace() {
                if !word.contains("://") && !word.starts_with("www.") {
                    out.push_str(word);
                    out.push(' ');
                }
            }
        }
        out.push('\n');
    }
    out
}

impl Metric for LanguageMatch {
    type Config = Config;

    fn describe() -> Descriptor {
        let codes: Vec<&str> = LANGUAGES.iter().map(|(c, _)| *c).collect();
        Descriptor::new("language-match", env!("CARGO_PKG_VERSION"))
            .description("the output is written in the expected language (metadata or the user's)")
            .owner("caliper-standard-metrics")
            .goal("users get answers in the language they wrote or asked for")
            .tags(["language", "i18n", "quality"])
            .unit("match (1 = same language, 0 = different)", true)
            .config_schema(json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "metadata_key": {
                        "type": ["string", "null"],
                        "default": "lang",
                        "description": "metadata key with the expected language (ISO 639-1 or 639-3); null to use the user's messages only"
                    },
                    "languages": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "string"},
                        "default": DEFAULT_LANGUAGES,
                        "description": format!("candidate languages, ISO 639-1 or 639-3; supported: {}", codes.join(", "))
                    },
                    "min_chars": {
                        "type": "integer", "minimum": 1, "default": 20,
                        "description": "fewest letters a text needs to tell its language"
                    },
                    "min_confidence": {
                        "type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                        "description": "lowest detection confidence that can fail a sample; a less confident mismatch is a skip"
                    }
                }
            }))
    }

    fn new(config: Config) -> Result<Self, Error> {
        if config.languages.is_empty() {
            return Err(Error::new("languages must not be empty"));
        }
        let mut languages = Vec::new();
        for code in &config.languages {
            let lang = parse_language(code).ok_or_else(|| {
                Error::new(format!(
                    "unsupported language {code:?} in languages (use ISO 639-1 or 639-3 codes, e.g. \"de\" or \"deu\")"
                ))
            })?;
            if !languages.contains(&lang) {
                languages.push(lang);
            }
        }
        if config.min_chars == 0 {
            return Err(Error::new("min_chars must be positive"));
        }
        if !(0.0..=1.0).contains(&config.min_confidence) {
            return Err(Error::new(format!(
                "min_confidence must lie between 0 and 1, not {}",
                config.min_confidence
            )));
        }
        if config.metadata_key.as_deref().is_some_and(str::is_empty) {
            return Err(Error::new(
                "metadata_key must not be empty (use null to disable it)",
            ));
        }
        Ok(LanguageMatch {
            metadata_key: config.metadata_key,
            detector: Detector::with_allowlist(languages.clone()),
            languages,
            min_chars: config.min_chars,
            min_confidence: config.min_confidence,
        })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let expected = match self.expected(sample) {
            Ok(expected) => expected,
            Err(skip) => return Ok(skip),
        };
        let want = iso639_1(expected.lang);
        // A language named by metadata is always a candidate, even when it is
        // not among `languages`.
        let extended;
        let detector = if self.languages.contains(&expected.lang) {
            &self.detector
        } else {
            let mut languages = self.languages.clone();
            languages.push(expected.lang);
            extended = Detector::with_allowlist(languages);
            &extended
        };
        let info = match self.identify(&sample.output, detector, "the output") {
            Ok(info) => info,
            Err(skip) => {
                return Ok(skip
                    .with_label("expected_language", want)
                    .with_label("expected_source", expected.source));
            }
        };
        let got = iso639_1(info.lang());
        let labels = |outcome: Outcome| {
            outcome
                .with_label("expected_language", want)
                .with_label("detected_language", got)
                .with_label("expected_source", expected.source)
                .with_label("confidence", format!("{:.2}", info.confidence()))
        };
        if info.lang() == expected.lang {
            return Ok(labels(Outcome::pass(1.0)));
        }
        // A mismatch fails only when both languages are told with confidence:
        // short or mixed texts often get a wrong, low-confidence guess.
        if info.confidence() < self.min_confidence {
            return Ok(labels(Outcome::skip(format!(
                "the output looks {got}, not {want}, but with confidence {:.2} (min {})",
                info.confidence(),
                self.min_confidence
            ))));
        }
        if expected.confidence < self.min_confidence {
            return Ok(labels(Outcome::skip(format!(
                "the output is {got}; the user's message looks {want}, but with confidence {:.2} (min {})",
                expected.confidence, self.min_confidence
            ))));
        }
        let from = match expected.source {
            "metadata" => "metadata",
            _ => "the user's message",
        };
        Ok(labels(Outcome::fail(
            0.0,
            format!(
                "output is {} ({got}), expected {} ({want}) from {from}",
                info.lang().eng_name(),
                expected.lang.eng_name()
            ),
        )))
    }
}

caliper_sdk::export_metric!(LanguageMatch);

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(config: &str) -> LanguageMatch {
        caliper_sdk::configure(config).unwrap()
    }

    fn text(value: &str) -> MetaValue {
        MetaValue::Text(value.to_owned())
    }

    /// A support chat in German, four turns before the one being scored.
    fn german_chat() -> Sample {
        Sample::default()
            .message("system", "You are a helpful assistant for an online shop.")
            .message("user", "Hallo, ich habe gestern eine Jacke bestellt.")
            .message(
                "assistant",
                "Guten Tag! Wie kann ich Ihnen bei Ihrer Bestellung helfen?",
            )
            .message("user", "Ich möchte wissen, wann sie ungefähr ankommt.")
            .message(
                "assistant",
                "Gern, nennen Sie mir bitte Ihre Bestellnummer.",
            )
            .message(
                "user",
                "Die Nummer ist 48213, und wohin wird das Paket geliefert?",
            )
    }

    #[test]
    fn german_chat_answered_in_english_fails() {
        let sample =
            german_chat().input("Die Nummer ist 48213, und wohin wird das Paket geliefert?");
        let o = metric("{}")
            .evaluate(&Sample {
                output: "Your order 48213 has shipped and will arrive at your home address \
                         within two business days."
                    .into(),
                ..sample
            })
            .unwrap();
        assert!(o.is_fail(), "{o:?}");
        assert_eq!(o.value, Some(0.0));
        assert_eq!(o.label("expected_language"), Some("de"));
        assert_eq!(o.label("detected_language"), Some("en"));
        assert_eq!(o.label("expected_source"), Some("input"));
        assert_eq!(
            o.reason.as_deref(),
            Some("output is English (en), expected German (de) from the user's message")
        );
    }

    #[test]
    fn german_chat_answered_in_german_passes() {
        let sample = Sample {
            output: "Ihre Bestellung 48213 ist unterwegs und wird in zwei Werktagen an Ihre \
                     Lieferadresse zugestellt."
                .into(),
            ..german_chat()
        };
        let o = metric("{}").evaluate(&sample).unwrap();
        assert!(o.is_pass(), "{o:?}");
        assert_eq!(o.value, Some(1.0));
        assert_eq!(o.label("detected_language"), Some("de"));
        assert!(o.reason.is_none());
    }

    #[test]
    fn a_short_last_turn_borrows_earlier_user_turns() {
        let sample = Sample {
            output: "Thank you, you are very welcome! Have a nice day and enjoy the jacket.".into(),
            ..german_chat()
                .message("assistant", "Es kommt morgen an.")
                .message("user", "Danke!")
        };
        let o = metric("{}").evaluate(&sample).unwrap();
        assert!(o.is_fail(), "{o:?}");
        assert_eq!(o.label("expected_language"), Some("de"));
    }

    #[test]
    fn metadata_wins_over_the_user_message_in_any_code_style() {
        let m = metric("{}");
        for code in ["fr", "FRA", "fre", "fr-CA", "fr_CH"] {
            let sample = Sample::with_output(
                "Votre commande est en route et arrivera chez vous dans deux jours ouvrables.",
            )
            .input("Where is my order? I ordered a jacket yesterday.")
            .meta("lang", text(code));
            let o = m.evaluate(&sample).unwrap();
            assert!(o.is_pass(), "{code}: {o:?}");
            assert_eq!(o.label("expected_language"), Some("fr"));
            assert_eq!(o.label("expected_source"), Some("metadata"));
        }
    }

    #[test]
    fn metadata_language_mismatch_fails() {
        let sample = Sample::with_output("Your order is on its way and will arrive in two days.")
            .input("Where is my order?")
            .meta("lang", text("fr"));
        let o = metric("{}").evaluate(&sample).unwrap();
        assert!(o.is_fail());
        assert_eq!(
            o.reason.as_deref(),
            Some("output is English (en), expected French (fr) from metadata")
        );
    }

    #[test]
    fn metadata_language_outside_the_candidates_still_counts() {
        let sample = Sample::with_output(
            "Zamówienie zostało wysłane i dotrze do Ciebie w ciągu dwóch dni roboczych.",
        )
        .meta("lang", text("pol"));
        let o = metric(r#"{"languages": ["en", "de"]}"#)
            .evaluate(&sample)
            .unwrap();
        assert!(o.is_pass(), "{o:?}");
        assert_eq!(o.label("detected_language"), Some("pl"));
    }

    #[test]
    fn null_empty_or_disabled_metadata_falls_back_to_the_user() {
        let output = "Votre commande est en route et arrivera dans deux jours.";
        let input = "Wo ist meine Bestellung? Ich warte schon seit einer Woche.";
        let m = metric("{}");
        for value in [MetaValue::Null, text("  ")] {
            let o = m
                .evaluate(&Sample::with_output(output).input(input).meta("lang", value))
                .unwrap();
            assert!(o.is_fail());
            assert_eq!(o.label("expected_source"), Some("input"));
        }
        let o = metric(r#"{"metadata_key": null}"#)
            .evaluate(
                &Sample::with_output(output)
                    .input(input)
                    .meta("lang", text("fr")),
            )
            .unwrap();
        assert_eq!(o.label("expected_language"), Some("de"));
        let o = metric(r#"{"metadata_key": "locale"}"#)
            .evaluate(
                &Sample::with_output(output)
                    .input(input)
                    .meta("locale", text("fr")),
            )
            .unwrap();
        assert!(o.is_pass());
    }

    #[test]
    fn unknown_or_non_text_metadata_skips() {
        let m = metric("{}");
        let base = Sample::with_output("Your order is on its way and will arrive in two days.");
        let o = m.evaluate(&base.clone().meta("lang", text("xx"))).unwrap();
        assert!(o.is_skip());
        assert_eq!(
            o.reason.as_deref(),
            Some("metadata `lang` is \"xx\", not a language this metric can detect")
        );
        let o = m.evaluate(&base.clone().meta("lang", text("ga"))).unwrap();
        assert!(o.is_skip());
        let o = m
            .evaluate(&base.meta("lang", MetaValue::Number(7.0)))
            .unwrap();
        assert!(o.is_skip());
        assert_eq!(
            o.reason.as_deref(),
            Some("metadata `lang` is not a text language code")
        );
    }

    #[test]
    fn texts_too_short_to_tell_skip() {
        let m = metric("{}");
        let o = m
            .evaluate(
                &Sample::with_output("OK, 42!").input("Wie viel kostet der Versand nach Wien?"),
            )
            .unwrap();
        assert!(o.is_skip());
        assert_eq!(
            o.reason.as_deref(),
            Some("the output is too short to tell its language (2 letters, min 20)")
        );
        assert_eq!(o.label("expected_language"), Some("de"));
        assert!(o.value.is_none());
        let o = m
            .evaluate(&Sample::with_output("The parcel ships tomorrow morning.").input("Hallo?"))
            .unwrap();
        assert!(o.is_skip());
        assert!(
            o.reason
                .unwrap()
                .starts_with("the user's message is too short")
        );
        let o = m.evaluate(&Sample::with_output("")).unwrap();
        assert!(o.is_skip());
        assert_eq!(
            o.reason.as_deref(),
            Some("no expected language: no metadata and no user message")
        );
        let o = m
            .evaluate(&Sample::with_output("").meta("lang", text("de")))
            .unwrap();
        assert!(o.is_skip());
    }

    #[test]
    fn an_unsure_mismatch_skips_instead_of_failing() {
        // whatlang takes this Russian sentence for Ukrainian, unsure (0.01).
        let o = metric("{}")
            .evaluate(
                &Sample::with_output("Ваш заказ уже в пути и прибудет через два рабочих дня.")
                    .meta("lang", text("ru")),
            )
            .unwrap();
        assert!(o.is_skip(), "{o:?}");
        assert_eq!(
            o.reason.as_deref(),
            Some("the output looks uk, not ru, but with confidence 0.01 (min 0.5)")
        );
        assert_eq!(o.label("detected_language"), Some("uk"));
        // An unsure guess that agrees with the expected language passes.
        let o = metric("{}")
            .evaluate(
                &Sample::with_output("Der Versand nach Wien kostet 4,90 Euro.")
                    .input("Wie viel kostet der Versand nach Wien?"),
            )
            .unwrap();
        assert!(o.is_pass(), "{o:?}");
        // An unsure user message cannot fail a confident output.
        let o = metric(r#"{"min_confidence": 0.9}"#)
            .evaluate(
                &Sample::with_output("Your order is on its way and will arrive tomorrow.")
                    .input("Wie viel kostet der Versand nach Wien?"),
            )
            .unwrap();
        assert!(o.is_skip(), "{o:?}");
        assert!(o.reason.unwrap().contains("the user's message looks de"));
    }

    #[test]
    fn code_blocks_and_urls_do_not_count_as_language() {
        let output = "Hier ist das Skript, das Sie brauchen:\n\
                      ```python\n\
                      def read_the_file_and_return_all_lines(path):\n    \
                      with open(path) as handle:\n        return handle.readlines()\n\
                      ```\n\
                      Rufen Sie `read_the_file_and_return_all_lines` mit dem Pfad auf. \
                      Mehr dazu: https://docs.python.org/3/tutorial/inputoutput.html";
        let o = metric("{}")
            .evaluate(&Sample::with_output(output).meta("lang", text("de")))
            .unwrap();
        assert!(o.is_pass(), "{o:?}");
    }

    #[test]
    fn prose_drops_code_and_urls() {
        let text =
            "Siehe `foo_bar()` und\n```rust\nfn main() {}\n```\nhttps://x.example/a www.x.de Ende";
        let prose = prose(text);
        let words: Vec<&str> = prose.split_whitespace().collect();
        assert_eq!(words, ["Siehe", "und", "Ende"]);
    }

    #[test]
    fn non_latin_scripts() {
        let m = metric("{}");
        let o = m
            .evaluate(
                &Sample::with_output(
                    "ご注文の商品は明日の午前中にお届けする予定です。ありがとうございます。",
                )
                .input("注文した商品はいつ届きますか？もう一週間も待っています。"),
            )
            .unwrap();
        assert!(o.is_pass(), "{o:?}");
        assert_eq!(o.label("expected_language"), Some("ja"));
        let o = m
            .evaluate(
                &Sample::with_output("Ваше замовлення вже в дорозі і прибуде завтра.")
                    .meta("lang", text("uk")),
            )
            .unwrap();
        assert!(o.is_pass(), "{o:?}");
        let o = m
            .evaluate(
                &Sample::with_output("您的订单已经发货，预计明天上午送达，请注意查收。")
                    .input("Where is my order? I have been waiting for a whole week."),
            )
            .unwrap();
        assert!(o.is_fail(), "{o:?}");
        assert_eq!(o.label("detected_language"), Some("zh"));
        assert_eq!(o.label("expected_language"), Some("en"));
    }

    #[test]
    fn codes_map_both_ways() {
        assert_eq!(parse_language("de"), Some(Lang::Deu));
        assert_eq!(parse_language("DEU"), Some(Lang::Deu));
        assert_eq!(parse_language(" de-CH "), Some(Lang::Deu));
        assert_eq!(parse_language("pt_BR"), Some(Lang::Por));
        assert_eq!(parse_language("ger"), Some(Lang::Deu));
        assert_eq!(parse_language("zh-Hant"), Some(Lang::Cmn));
        assert_eq!(parse_language("zho"), Some(Lang::Cmn));
        assert_eq!(parse_language("cmn"), Some(Lang::Cmn));
        assert_eq!(parse_language("no"), Some(Lang::Nob));
        assert_eq!(parse_language("xx"), None);
        assert_eq!(parse_language("german"), None);
        assert_eq!(parse_language(""), None);
        for lang in Lang::all() {
            let code = iso639_1(*lang);
            assert_eq!(code.len(), 2, "{lang:?}");
            assert_eq!(parse_language(code), Some(*lang));
            assert_eq!(parse_language(lang.code()), Some(*lang));
        }
    }

    #[test]
    fn bad_config_is_rejected() {
        let err = |config: &str| {
            caliper_sdk::configure::<LanguageMatch>(config)
                .err()
                .unwrap()
                .to_string()
        };
        assert!(err(r#"{"languages": ["en", "xx"]}"#).contains("unsupported language \"xx\""));
        assert_eq!(err(r#"{"languages": []}"#), "languages must not be empty");
        assert!(err(r#"{"min_confidence": 1.5}"#).contains("between 0 and 1"));
        assert_eq!(err(r#"{"min_chars": 0}"#), "min_chars must be positive");
        assert!(err(r#"{"metadata_key": ""}"#).contains("must not be empty"));
        assert!(err(r#"{"language": ["en"]}"#).contains("unknown field `language`"));
    }

    #[test]
    fn describe_has_a_valid_schema() {
        let d = LanguageMatch::describe();
        assert_eq!(d.name, "language-match");
        let schema: serde_json::Value = serde_json::from_str(&d.config_schema).unwrap();
        assert_eq!(schema["properties"]["languages"]["default"][1], "de");
    }
}
