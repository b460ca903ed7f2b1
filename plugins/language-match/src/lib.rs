//! `language-match`: the output is written in the language the user expects.
//!
//! The expected language comes from the sample's metadata (key `lang` by
//! default, an ISO 639-1 code like `de`, an ISO 639-3 code like `deu`, or a
//! tag like `de-CH`) or, when that is absent, from the conversation: the user
//! turns from the last one back to where the user last changed language
//! (detected together: one short chat message is too little text, a few are
//! plenty), and, to confirm a mismatch, earlier assistant turns in that
//! language. The output's language is detected with `whatlang`, restricted to
//! the configured `languages` (plus the expected one).
//!
//! Config: `{"metadata_key": "lang", "languages": ["en", "de", ...],
//! "min_chars": 20, "min_confidence": 0.5, "conversation": true,
//! "assistant_evidence": true, "max_turns": 12}`. The value is 1 when the
//! languages match and 0 when they do not; labels name both languages, the
//! confidences and the number of turns the expected language rests on.
//!
//! A mismatch fails only when both texts are told apart with confidence: in
//! a head-to-head of the two languages (German or English? is easy even on
//! 30 characters, unlike a choice among 20 languages), or when the second
//! detector (`whichlang`, better on short texts, 16 languages) agrees. When
//! whatlang is unsure and whichlang reads both texts as one language, they
//! match. The sample is skipped when a text has fewer than `min_chars`
//! letters, when a mismatch stays unsure, or when the metadata names a
//! language this metric cannot detect (a skip rather than an error: the
//! sample is fine, the metric just does not apply to it).

use std::collections::HashMap;
use std::sync::Mutex;

use caliper_sdk::{Descriptor, Error, MetaValue, Metric, Outcome, Sample};
use schemars::JsonSchema;
use serde::Deserialize;
use whatlang::{Detector, Info, Lang};

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
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Metadata key holding the expected language; `null` to always use the
    /// user's messages.
    pub metadata_key: Option<String>,
    /// Candidate languages (ISO 639-1 or 639-3 codes) the detector chooses
    /// among.
    #[schemars(length(min = 1), transform = supported_languages)]
    pub languages: Vec<String>,
    /// Fewest letters a text needs for its language to be identified (the
    /// output, and all the user's text taken together).
    #[schemars(range(min = 1))]
    pub min_chars: usize,
    /// Lowest detection confidence (0 to 1) that can fail a sample; a
    /// mismatch below it is a skip.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_confidence: f64,
    /// Take the expected language from the conversation (the user turns
    /// since the user last changed language, and assistant turns in that
    /// language) instead of the last user message alone.
    pub conversation: bool,
    /// With `conversation`: earlier assistant turns in the user's language
    /// count as supporting evidence.
    pub assistant_evidence: bool,
    /// With `conversation`: most user turns read back from the last one.
    #[schemars(range(min = 1))]
    pub max_turns: usize,
}

/// The schema of `languages` names the languages the detector supports.
fn supported_languages(schema: &mut schemars::Schema) {
    let codes: Vec<&str> = LANGUAGES.iter().map(|(c, _)| *c).collect();
    let description = format!(
        "{} Supported: {}.",
        schema
            .get("description")
            .and_then(|d| d.as_str())
            .unwrap_or_default(),
        codes.join(", ")
    );
    schema.insert("description".into(), description.into());
}

impl Default for Config {
    fn default() -> Self {
        Config {
            metadata_key: Some("lang".to_owned()),
            languages: DEFAULT_LANGUAGES.iter().map(|c| (*c).to_owned()).collect(),
            min_chars: 20,
            min_confidence: 0.5,
            conversation: true,
            assistant_evidence: true,
            max_turns: 12,
        }
    }
}

/// Letters the evidence gathers before reading further back stops (plenty
/// for a confident detection; bounds the cost on long conversations).
const ENOUGH_LETTERS: usize = 300;

/// Head-to-head confidence with which both sides of a user's change of
/// language must be told (unless the second detector agrees). Fixed rather
/// than `min_confidence`: raising that to fail fewer samples must not make
/// the metric stop following a user who switches.
const SWITCH_CONFIDENCE: f64 = 0.5;

/// User turns whose language is remembered (then the memory starts over).
const SEEN_TURNS: usize = 512;

/// Most assistant turns taken as supporting evidence.
const MAX_ASSISTANT_TURNS: usize = 4;

/// The metric.
pub struct LanguageMatch {
    /// The language of recently seen user turns: with `expand_turns`, the
    /// samples of one conversation share their history, so each turn is
    /// detected once rather than once per later sample.
    seen: Mutex<HashMap<String, Option<Lang>>>,
    metadata_key: Option<String>,
    languages: Vec<Lang>,
    detector: Detector,
    min_chars: usize,
    min_confidence: f64,
    conversation: bool,
    assistant_evidence: bool,
    max_turns: usize,
}

/// The expected language and where it came from.
struct Expected {
    lang: Lang,
    /// `metadata` or `input`.
    source: &'static str,
    /// Detection confidence (1 for metadata).
    confidence: f64,
    /// The text the language was told from (empty for metadata).
    evidence: String,
    /// User and assistant turns in `evidence`.
    user_turns: usize,
    assistant_turns: usize,
    /// Index in `messages` of the oldest user turn in `evidence`.
    start: usize,
}

impl Expected {
    /// Where the expected language came from, for a reason.
    fn from(&self) -> String {
        match (self.source, self.user_turns, self.assistant_turns) {
            ("metadata", ..) => "metadata".to_owned(),
            (_, 0 | 1, 0) => "the user's message".to_owned(),
            (_, u, a) => format!(
                "the conversation ({u} user turn{}, {a} assistant turn{})",
                if u == 1 { "" } else { "s" },
                if a == 1 { "" } else { "s" }
            ),
        }
    }
}

/// Letters in `text`.
fn letters(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphabetic()).count()
}

impl LanguageMatch {
    /// The expected language, or the outcome to return when there is none.
    fn expected(&self, sample: &Sample) -> Result<Expected, Outcome> {
        if let Some(key) = &self.metadata_key {
            let from_metadata = |lang| Expected {
                lang,
                source: "metadata",
                confidence: 1.0,
                evidence: String::new(),
                user_turns: 0,
                assistant_turns: 0,
                start: 0,
            };
            match sample.metadata.get(key) {
                None | Some(MetaValue::Null) => {}
                Some(MetaValue::Text(code)) if code.trim().is_empty() => {}
                Some(MetaValue::Text(code)) => {
                    return match parse_language(code) {
                        Some(lang) => Ok(from_metadata(lang)),
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
        let (evidence, user_turns, start, told) = if self.conversation {
            self.conversation_evidence(sample)
        } else {
            let text = prose(&user_text(sample, self.min_chars));
            let turns = usize::from(letters(&text) > 0);
            (text, turns, 0, None)
        };
        let skip = |outcome: Outcome| {
            outcome
                .with_label("expected_source", "input")
                .with_label("evidence", user_turns.to_string())
        };
        if evidence.trim().is_empty() {
            return Err(skip(Outcome::skip(
                "no expected language: no metadata and no user message",
            )));
        }
        let what = if user_turns > 1 {
            "the user's messages"
        } else {
            "the user's message"
        };
        let info = match told {
            Some(info) if letters(&evidence) >= self.min_chars => info,
            _ => self
                .identify(&evidence, &self.detector, what)
                .map_err(skip)?,
        };
        Ok(Expected {
            lang: info.lang(),
            source: "input",
            confidence: info.confidence(),
            evidence,
            user_turns,
            assistant_turns: 0,
            start,
        })
    }

    /// The conversation's evidence for the user's language, as prose: the
    /// user turns from the last one back to where the user last changed
    /// language (at most `max_turns`, and [`ENOUGH_LETTERS`]). Returns the
    /// text, the user turns in it, the index in `messages` of the oldest one
    /// and the text's language.
    fn conversation_evidence(&self, sample: &Sample) -> (String, usize, usize, Option<Info>) {
        // User turns, newest first, with their position in `messages`.
        let mut users: Vec<(usize, String)> = sample
            .messages
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, m)| m.role == "user")
            .map(|(at, m)| (at, prose(&m.content)))
            .filter(|(_, text)| letters(text) > 0)
            .take(self.max_turns)
            .collect();
        if users.is_empty() {
            let text = prose(sample.last_user_text());
            if letters(&text) == 0 {
                return (String::new(), 0, 0, None);
            }
            users.push((sample.messages.len(), text));
        }
        let mut text = users[0].1.clone();
        let mut start = users[0].0;
        let mut used = 1;
        let mut current = self.detector.detect(&text);
        // Whether `current` is older than `text`: detecting the text again
        // is needed only where an older turn's own language disagrees with
        // it, and at the end.
        let mut stale = false;
        for (at, turn) in &users[1..] {
            let told = letters(&text);
            if told >= ENOUGH_LETTERS {
                break;
            }
            let own = self.turn_language(turn);
            if own.is_some() && own != current.as_ref().map(Info::lang) {
                if stale {
                    current = self.detector.detect(&text);
                    stale = false;
                }
                if let Some(now) = &current
                    && told >= self.min_chars
                    && self.switched_before(&text, now.lang(), turn)
                {
                    break;
                }
            }
            text.push('\n');
            text.push_str(turn);
            start = *at;
            used += 1;
            stale = true;
        }
        if stale {
            current = self.detector.detect(&text);
        }
        (text, used, start, current)
    }

    /// `expected`'s evidence extended with earlier assistant turns in the
    /// expected language, newest first (at most [`MAX_ASSISTANT_TURNS`], and
    /// as many letters as the user turns have: they support the user's
    /// turns, never outweigh them). Read only to confirm a mismatch.
    fn support(&self, sample: &Sample, expected: &mut Expected) {
        let budget = letters(&expected.evidence);
        let mut taken = 0;
        for m in sample.messages[expected.start.min(sample.messages.len())..]
            .iter()
            .rev()
            .filter(|m| m.role == "assistant")
            .take(2 * MAX_ASSISTANT_TURNS)
        {
            if taken >= budget || expected.assistant_turns == MAX_ASSISTANT_TURNS {
                break;
            }
            let turn = prose(&m.content);
            if letters(&turn) < self.min_chars
                || self.detector.detect_lang(&turn) != Some(expected.lang)
            {
                continue;
            }
            let room = budget - taken;
            let turn: String = if letters(&turn) > room {
                let mut n = 0;
                turn.chars()
                    .take_while(|c| {
                        n += usize::from(c.is_alphabetic());
                        n <= room
                    })
                    .collect()
            } else {
                turn
            };
            taken += letters(&turn);
            expected.evidence.push('\n');
            expected.evidence.push_str(&turn);
            expected.assistant_turns += 1;
        }
    }

    /// The language of one user turn, remembered for the next samples.
    fn turn_language(&self, turn: &str) -> Option<Lang> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lang) = seen.get(turn) {
            return *lang;
        }
        if seen.len() >= SEEN_TURNS {
            seen.clear();
        }
        let lang = self.detector.detect_lang(turn);
        seen.insert(turn.to_owned(), lang);
        lang
    }

    /// Whether the user wrote the earlier `turn` in another language than the
    /// newer `text` (in `lang`): in a head-to-head of the two languages both
    /// must be told apart with [`SWITCH_CONFIDENCE`], so one oddly detected
    /// short turn does not cut the conversation.
    fn switched_before(&self, text: &str, lang: Lang, turn: &str) -> bool {
        let Some(older) = self.turn_language(turn) else {
            return false;
        };
        if older == lang {
            return false;
        }
        let pair = Detector::with_allowlist(vec![lang, older]);
        let confident = |text: &str, want: Lang| {
            pair.detect(text)
                .is_some_and(|i| i.lang() == want && i.confidence() >= SWITCH_CONFIDENCE)
        };
        (confident(text, lang) || second_says(text, lang, older))
            && (confident(turn, older) || second_says(turn, older, lang))
    }

    /// Identifies the language of `text`, or returns the skip outcome that
    /// explains why it cannot be told. Confidence is judged by the caller:
    /// it only matters when the languages differ.
    fn identify(&self, text: &str, detector: &Detector, what: &str) -> Result<Info, Outcome> {
        let prose = prose(text);
        let letters = letters(&prose);
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
        Descriptor::new("language-match", env!("CARGO_PKG_VERSION"))
            .description("the output is written in the expected language (metadata or the user's)")
            .owner("caliper-standard-metrics")
            .goal("users get answers in the language they wrote or asked for")
            .tags(["language", "i18n", "quality"])
            .unit("match (1 = same language, 0 = different)", true)
            .config_schema_of::<Config>()
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
        if config.max_turns == 0 {
            return Err(Error::new("max_turns must be positive"));
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
            conversation: config.conversation,
            assistant_evidence: config.assistant_evidence,
            max_turns: config.max_turns,
            seen: Mutex::default(),
        })
    }

    fn evaluate(&self, sample: &Sample) -> Result<Outcome, Error> {
        let mut expected = match self.expected(sample) {
            Ok(expected) => expected,
            Err(skip) => return Ok(skip),
        };
        let want = iso639_1(expected.lang);
        let turns = expected.user_turns.to_string();
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
        let output = prose(&sample.output);
        let info = match self.identify(&output, detector, "the output") {
            Ok(info) => info,
            Err(skip) => {
                return Ok(skip
                    .with_label("expected_language", want)
                    .with_label("expected_source", expected.source)
                    .with_label("evidence", turns));
            }
        };
        let got = iso639_1(info.lang());
        let source = expected.source;
        let labels = |outcome: Outcome, confidence: f64, expected: &Expected, certainty: f64| {
            outcome
                .with_label("expected_language", want)
                .with_label("detected_language", got)
                .with_label("expected_source", source)
                .with_label("confidence", format!("{confidence:.2}"))
                .with_label("expected_confidence", format!("{certainty:.2}"))
                .with_label(
                    "evidence",
                    (expected.user_turns + expected.assistant_turns).to_string(),
                )
        };
        if info.lang() == expected.lang {
            let certainty = expected.confidence;
            return Ok(labels(
                Outcome::pass(1.0),
                info.confidence(),
                &expected,
                certainty,
            ));
        }
        // A mismatch fails only when both texts are told apart with
        // confidence: in a head-to-head of the two languages (a detection
        // among all candidates is unsure on short texts even when the
        // question asked, German or English?, is easy), or by the second
        // detector agreeing. When whatlang is unsure and the second detector
        // reads both texts as one language, they match after all.
        let pair = Detector::with_allowlist(vec![expected.lang, info.lang()]);
        let head_to_head = |text: &str, lang: Lang| {
            pair.detect(text)
                .filter(|i| i.lang() == lang)
                .map_or(0.0, |i| i.confidence())
        };
        let min = self.min_confidence;
        let confidence = head_to_head(&output, info.lang());
        let output_is_other = confidence >= min || second_says(&output, info.lang(), expected.lang);
        let output_is_expected = confidence == 0.0
            || (confidence < min && second_says(&output, expected.lang, info.lang()));
        if source == "input" && self.conversation && self.assistant_evidence {
            self.support(sample, &mut expected);
        }
        let (certainty, user_is_expected, user_is_other) = match source {
            "metadata" => (1.0, true, false),
            _ => {
                let evidence = &expected.evidence;
                let c = head_to_head(evidence, expected.lang);
                (
                    c,
                    c >= min || second_says(evidence, expected.lang, info.lang()),
                    c == 0.0 || (c < min && second_says(evidence, info.lang(), expected.lang)),
                )
            }
        };
        if output_is_other && user_is_expected {
            let reason = format!(
                "output is {} ({got}), expected {} ({want}) from {}",
                info.lang().eng_name(),
                expected.lang.eng_name(),
                expected.from()
            );
            return Ok(labels(
                Outcome::fail(0.0, reason),
                confidence,
                &expected,
                certainty,
            ));
        }
        if output_is_expected || user_is_other {
            return Ok(labels(Outcome::pass(1.0), confidence, &expected, certainty));
        }
        let reason = if output_is_other {
            let whose = if expected.user_turns > 1 {
                "the user's messages look"
            } else {
                "the user's message looks"
            };
            format!(
                "the output is {got}; {whose} {want}, but with confidence {certainty:.2} (min {min})"
            )
        } else {
            format!(
                "the output looks {got}, not {want}, but with confidence {confidence:.2} (min {min})"
            )
        };
        Ok(labels(
            Outcome::skip(reason),
            confidence,
            &expected,
            certainty,
        ))
    }
}

/// Whether the second detector reads `text` as `lang` rather than `other`.
/// It is whichlang, a linear model over n-grams, more accurate than
/// whatlang on short texts (see README) but limited to 16 languages, with no
/// confidence and no "unknown": it reads a language it does not know as its
/// nearest relative (Danish as Swedish, Ukrainian as Russian), so it does
/// not settle a question between a language and an unknown relative.
fn second_says(text: &str, lang: Lang, other: Lang) -> bool {
    let read = whichlang::detect_language(text);
    if Lang::from_code(read.three_letter_code()) != Some(lang) {
        return false;
    }
    let known = whichlang::LANGUAGES
        .iter()
        .any(|l| Lang::from_code(l.three_letter_code()) == Some(other));
    known
        || !RELATIVES
            .iter()
            .any(|g| g.contains(&lang) && g.contains(&other))
}

/// Groups of related languages (for [`second_says`]).
const RELATIVES: [&[Lang]; 9] = [
    &[Lang::Dan, Lang::Nob, Lang::Swe],
    &[
        Lang::Rus,
        Lang::Ukr,
        Lang::Bel,
        Lang::Bul,
        Lang::Mkd,
        Lang::Srp,
    ],
    &[
        Lang::Ces,
        Lang::Slk,
        Lang::Pol,
        Lang::Slv,
        Lang::Hrv,
        Lang::Srp,
    ],
    &[Lang::Spa, Lang::Cat, Lang::Por, Lang::Ita, Lang::Lat],
    &[Lang::Nld, Lang::Afr, Lang::Deu, Lang::Yid],
    &[Lang::Hin, Lang::Urd, Lang::Mar, Lang::Nep],
    &[Lang::Ara, Lang::Pes],
    &[Lang::Tur, Lang::Aze, Lang::Tuk, Lang::Uzb],
    &[Lang::Vie, Lang::Khm],
];

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
            Some(
                "output is English (en), expected German (de) from the conversation \
                 (3 user turns, 1 assistant turn)"
            )
        );
        assert_eq!(o.label("evidence"), Some("4"));
        assert_eq!(o.label("expected_confidence"), Some("1.00"));
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
        // Danish or Norwegian? whatlang leans Danish, unsure (0.12), and the
        // second detector knows neither.
        let o = metric("{}")
            .evaluate(
                &Sample::with_output("Din ordre er på vej og ankommer om to arbejdsdage.")
                    .meta("lang", text("nb")),
            )
            .unwrap();
        assert!(o.is_skip(), "{o:?}");
        assert_eq!(
            o.reason.as_deref(),
            Some("the output looks da, not nb, but with confidence 0.12 (min 0.5)")
        );
        assert_eq!(o.label("detected_language"), Some("da"));
        // whatlang takes this Russian sentence for Ukrainian, unsure (0.01);
        // the second detector knows no Ukrainian, so it cannot settle it.
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
        // One short German question is unsure among 20 languages, but German
        // or English is an easy question: it fails even at 0.9.
        let o = metric(r#"{"min_confidence": 0.9}"#)
            .evaluate(
                &Sample::with_output("Your order is on its way and will arrive tomorrow.")
                    .input("Wie viel kostet der Versand nach Wien?"),
            )
            .unwrap();
        assert!(o.is_fail(), "{o:?}");
        assert_eq!(o.label("expected_confidence"), Some("1.00"));
        // An unsure user message cannot fail a confident output (Danish or
        // Norwegian, 0.34, against a Swedish answer).
        let o = metric(r#"{"languages": ["da", "nb", "sv"]}"#)
            .evaluate(
                &Sample::with_output(
                    "Din beställning är på väg och kommer fram inom två arbetsdagar.",
                )
                .input("Hvornår kommer min ordre?"),
            )
            .unwrap();
        assert!(o.is_skip(), "{o:?}");
        assert_eq!(
            o.reason.as_deref(),
            Some(
                "the output is sv; the user's message looks nb, but with confidence 0.34 (min 0.5)"
            )
        );
    }

    /// A German chat as people type it: short user turns.
    fn short_german_chat() -> Sample {
        Sample::default()
            .message(
                "system",
                "You are a helpful assistant. Answer in the user's language.",
            )
            .message("user", "Hallo, ich habe gestern die Jacke bestellt.")
            .message("assistant", "Gern helfe ich Ihnen weiter.")
            .message("user", "Wann bekomme ich die Jacke ungefähr?")
            .message(
                "assistant",
                "Ihre Bestellung 48213 ist unterwegs und kommt morgen an.",
            )
            .message("user", "Und wie ändere ich die Lieferadresse?")
    }

    fn answered(sample: Sample, output: &str) -> Sample {
        Sample {
            output: output.into(),
            ..sample
        }
    }

    #[test]
    fn one_short_user_turn_answered_in_another_language_fails() {
        // whatlang alone is unsure of one short message among 20 languages
        // (0.3); German against English is a clear head-to-head.
        let m = metric("{}");
        for (input, output) in [
            (
                "Und wie ändere ich die Lieferadresse?",
                "You can change the address in your account under settings.",
            ),
            (
                "Et comment je change l'adresse de livraison ?",
                "You can change the address in your account under settings.",
            ),
            (
                "¿Y cómo cambio la dirección de entrega?",
                "You can change the address in your account under settings.",
            ),
            (
                "Hoeveel kost een overschrijving eigenlijk?",
                "A transfer costs nothing within the euro area.",
            ),
        ] {
            let o = m
                .evaluate(&Sample::with_output(output).message("user", input))
                .unwrap();
            assert!(o.is_fail(), "{input}: {o:?}");
            assert_eq!(o.label("evidence"), Some("1"));
        }
    }

    #[test]
    fn a_short_turn_after_german_history_does_not_skip() {
        let m = metric("{}");
        let o = m
            .evaluate(&answered(
                short_german_chat(),
                "Das geht in Ihrem Kundenkonto.",
            ))
            .unwrap();
        assert!(o.is_pass(), "{o:?}");
        assert_eq!(o.label("expected_language"), Some("de"));
        let o = m
            .evaluate(&answered(
                short_german_chat(),
                "You can change the address in your account under settings.",
            ))
            .unwrap();
        assert!(o.is_fail(), "{o:?}");
        assert_eq!(
            o.reason.as_deref(),
            Some(
                "output is English (en), expected German (de) from the conversation \
                 (3 user turns, 2 assistant turns)"
            )
        );
        // The English system prompt is not evidence.
        assert_eq!(o.label("evidence"), Some("5"));
    }

    #[test]
    fn earlier_answers_in_another_language_are_not_evidence() {
        // The assistant already switched to English at the second turn: the
        // user kept writing German, so German is still expected.
        let sample = Sample::default()
            .message("user", "Hallo, ich habe gestern die Jacke bestellt.")
            .message("assistant", "Gern helfe ich Ihnen weiter.")
            .message("user", "Wann bekomme ich die Jacke ungefähr?")
            .message(
                "assistant",
                "Your order is on its way and will arrive tomorrow morning. \
                 Is there anything else I can help you with today?",
            )
            .message("user", "Und wie ändere ich die Lieferadresse?");
        let o = metric("{}")
            .evaluate(&answered(
                sample,
                "You can change the address in your account under settings.",
            ))
            .unwrap();
        assert!(o.is_fail(), "{o:?}");
        assert_eq!(o.label("expected_language"), Some("de"));
        assert!(
            o.reason
                .unwrap()
                .ends_with("(3 user turns, 1 assistant turn)")
        );
    }

    #[test]
    fn the_expected_language_follows_a_user_who_switches() {
        let switched = short_german_chat()
            .message("assistant", "Das geht in Ihrem Kundenkonto.")
            .message("user", "Sorry, can we continue in English please?")
            .message("assistant", "Of course, happy to continue in English.")
            .message("user", "Can I pay by bank transfer as well?");
        let m = metric("{}");
        let o = m
            .evaluate(&answered(
                switched.clone(),
                "Yes, bank transfers are accepted for every order.",
            ))
            .unwrap();
        assert!(o.is_pass(), "{o:?}");
        assert_eq!(o.label("expected_language"), Some("en"));
        let o = m
            .evaluate(&answered(
                switched,
                "Ja, Sie können jede Bestellung auch per Überweisung bezahlen.",
            ))
            .unwrap();
        assert!(o.is_fail(), "{o:?}");
        assert_eq!(o.label("expected_language"), Some("en"));
        assert!(
            o.reason
                .unwrap()
                .ends_with("(2 user turns, 1 assistant turn)"),
            "only the English part of the conversation counts"
        );
    }

    #[test]
    fn conversation_false_uses_the_last_user_message() {
        let o = metric(r#"{"conversation": false}"#)
            .evaluate(&answered(
                short_german_chat(),
                "You can change the address in your account under settings.",
            ))
            .unwrap();
        assert_eq!(o.label("evidence"), Some("1"));
        assert_eq!(o.label("expected_language"), Some("de"));
        let o = metric(r#"{"assistant_evidence": false}"#)
            .evaluate(&answered(
                short_german_chat(),
                "You can change the address in your account under settings.",
            ))
            .unwrap();
        assert_eq!(o.label("evidence"), Some("3"));
    }

    #[test]
    fn a_long_conversation_reads_back_a_bounded_number_of_turns() {
        let mut sample = Sample::default();
        for i in 0..5_000 {
            sample = sample
                .message("user", format!("Wann kommt die Lieferung Nummer {i} an?"))
                .message("assistant", "Die Lieferung kommt morgen an.");
        }
        let sample = answered(sample, "Your delivery arrives tomorrow morning.");
        let started = std::time::Instant::now();
        let o = metric(r#"{"max_turns": 3}"#).evaluate(&sample).unwrap();
        assert!(o.is_fail(), "{o:?}");
        assert_eq!(o.label("evidence"), Some("6"));
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
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
        assert_eq!(err(r#"{"max_turns": 0}"#), "max_turns must be positive");
        assert!(err(r#"{"conversation": "yes"}"#).contains("invalid type"));
        assert!(err(r#"{"metadata_key": ""}"#).contains("must not be empty"));
        assert!(err(r#"{"language": ["en"]}"#).contains("unknown field `language`"));
    }

    #[test]
    fn describe_has_a_valid_schema() {
        let d = LanguageMatch::describe();
        assert_eq!(d.name, "language-match");
        let schema: serde_json::Value = serde_json::from_str(&d.config_schema).unwrap();
        assert_eq!(schema["properties"]["languages"]["default"][1], "de");
        assert_eq!(schema["properties"]["conversation"]["default"], true);
        assert_eq!(schema["properties"]["assistant_evidence"]["default"], true);
        assert_eq!(schema["properties"]["max_turns"]["default"], 12);
    }
}
