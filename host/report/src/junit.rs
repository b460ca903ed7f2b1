//! Gate results as JUnit XML, the format CI systems (GitLab, Jenkins, GitHub
//! test reporters) show as test results: one `<testsuite>` per command, one
//! `<testcase>` per gate (class name = the metric, name = the check), and a
//! `<failure>` with the gate's message when it failed.

use std::fmt::Write;

use crate::gate::GateResult;
use crate::markup::escape;

/// A JUnit XML document for the gates of one run or comparison. `suite`
/// names the test suite (e.g. `caliper run chats.jsonl`); `elapsed_s` is
/// the time of the whole command.
pub fn render(suite: &str, gates: &[GateResult], elapsed_s: f64) -> String {
    let failures = gates.iter().filter(|g| !g.passed).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"caliper\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{elapsed_s:.3}\">",
        gates.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{elapsed_s:.3}\">",
        escape(suite),
        gates.len()
    );
    for g in gates {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
            escape(&g.metric),
            escape(&g.check)
        );
        if g.passed {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                escape(&g.message)
            );
        } else {
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\" type=\"gate\">{}</failure>\n    </testcase>",
                escape(&g.message),
                escape(&g.message)
            );
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_testcase_per_gate_with_failures_escaped() {
        let gates = [
            GateResult {
                metric: "lang".into(),
                check: "min_pass_rate".into(),
                passed: false,
                message: "pass rate 93.8% < min 95.0% & \"more\"".into(),
            },
            GateResult {
                metric: "pii".into(),
                check: "max_error_rate".into(),
                passed: true,
                message: "error rate 0.0% <= max 0.0%".into(),
            },
        ];
        let xml = render("caliper run <data>", &gates, 1.5);
        assert!(
            xml.contains(r#"<testsuite name="caliper run &lt;data&gt;" tests="2" failures="1""#),
            "{xml}"
        );
        assert!(xml.contains(r#"<testcase classname="lang" name="min_pass_rate""#));
        assert!(xml.contains(r#"<failure message="pass rate 93.8% &lt; min 95.0% &amp; &quot;more&quot;" type="gate">"#), "{xml}");
        assert_eq!(xml.matches("<failure").count(), 1);
    }
}
