//! What a metric returns for one sample.

/// The verdict of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The sample meets the expectation.
    Pass,
    /// The sample violates it.
    Fail,
    /// The metric does not apply to this sample.
    Skip,
}

/// The result of scoring one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Pass, fail or skip.
    pub verdict: Verdict,
    /// A finite numeric score, if there is one.
    pub value: Option<f64>,
    /// A short human-readable explanation.
    pub reason: Option<String>,
    /// Structured facts, e.g. `("detected_language", "en")`.
    pub labels: Vec<(String, String)>,
}

impl Outcome {
    fn new(verdict: Verdict, value: Option<f64>) -> Self {
        Outcome {
            verdict,
            value,
            reason: None,
            labels: Vec::new(),
        }
    }

    /// A pass with a value.
    pub fn pass(value: f64) -> Self {
        Outcome::new(Verdict::Pass, Some(value))
    }

    /// A fail with a value and a reason.
    pub fn fail(value: f64, reason: impl Into<String>) -> Self {
        Outcome::new(Verdict::Fail, Some(value)).with_reason(reason)
    }

    /// Pass when `ok`, fail otherwise, with a value either way.
    pub fn check(ok: bool, value: f64) -> Self {
        let verdict = if ok { Verdict::Pass } else { Verdict::Fail };
        Outcome::new(verdict, Some(value))
    }

    /// Not applicable to this sample, with the reason why.
    pub fn skip(reason: impl Into<String>) -> Self {
        Outcome::new(Verdict::Skip, None).with_reason(reason)
    }

    /// Sets the reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the value.
    pub fn with_value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }

    /// Adds a label.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.push((key.into(), value.into()));
        self
    }

    /// Whether the verdict is pass.
    pub fn is_pass(&self) -> bool {
        self.verdict == Verdict::Pass
    }

    /// Whether the verdict is fail.
    pub fn is_fail(&self) -> bool {
        self.verdict == Verdict::Fail
    }

    /// Whether the verdict is skip.
    pub fn is_skip(&self) -> bool {
        self.verdict == Verdict::Skip
    }

    /// The label value under `key`, if present.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
