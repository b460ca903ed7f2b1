//! The documentation runs: every `caliper` command in the shell blocks of
//! README.md and docs/*.md names a real subcommand and real flags, every
//! `caliper.toml` snippet is accepted, every relative link resolves, and the
//! README's tour runs end to end against the standard metrics, with the
//! outputs it shows.
//!
//! Conventions of the pages: a ```sh block is meant to be run (a ```console
//! block too, for its `$ ` lines); ```text is output; ```toml is a
//! `caliper.toml` snippet unless its info string names another file
//! (```toml metric.toml). In the tour, a block whose info string names a file
//! (```json chats.jsonl) is that file's content, a ```text block is the output
//! of the command before it, a ```json block without a name the reply of the
//! `curl` before it, and a `# exit code N` comment the exit code of its
//! command (0 without one).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use caliper_tests::{Scratch, Server, repo, wasm};
use serde_json::Value;

/// README.md and docs/*.md, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let root = repo();
    let mut paths = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// A page's name relative to the repository, for messages.
fn name(path: &Path) -> String {
    let root = std::fs::canonicalize(repo()).unwrap();
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    path.strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string()
}

/// One fenced code block.
#[derive(Debug)]
struct Block {
    /// The line of the opening fence (1-based).
    line: usize,
    /// The info string: language, then an optional file name.
    info: String,
    text: String,
}

impl Block {
    fn lang(&self) -> &str {
        self.info.split_whitespace().next().unwrap_or("")
    }

    /// The file the block is the content of (```toml caliper.toml).
    fn file(&self) -> Option<&str> {
        self.info.split_whitespace().nth(1)
    }
}

/// The fenced code blocks of a Markdown text, in order.
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut open {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some(Block {
                        line: i + 1,
                        info: info.trim().to_owned(),
                        text: String::new(),
                    });
                }
            }
            Some(block) => {
                if line.trim_end() == "```" {
                    out.push(open.take().unwrap());
                } else {
                    block.text.push_str(line);
                    block.text.push('\n');
                }
            }
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    out
}

/// A shell word, or an operator (`&&`, `|`, `>`, `<<`, ...).
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Op(String),
}

/// Splits one shell line into words and operators (quotes removed),
/// and returns the comment that ends it, if any.
fn tokens(line: &str) -> (Vec<Token>, Option<String>) {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    let mut word: Option<String> = None;
    let flush = |word: &mut Option<String>, out: &mut Vec<Token>| {
        if let Some(w) = word.take() {
            out.push(Token::Word(w));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => flush(&mut word, &mut out),
            '#' if word.is_none() => {
                let rest: String = chars.collect();
                return (out, Some(rest.trim().to_owned()));
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c);
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            '&' | '|' | ';' | '<' | '>' => {
                flush(&mut word, &mut out);
                let mut op = c.to_string();
                while let Some(&n) = chars.peek() {
                    if !"&|;<>".contains(n) {
                        break;
                    }
                    op.push(n);
                    chars.next();
                }
                out.push(Token::Op(op));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    flush(&mut word, &mut out);
    (out, None)
}

/// One simple command of a shell block: its words (leading `VAR=value`
/// assignments and redirections removed), the comment of its line, and the
/// line within the block (0-based).
#[derive(Debug)]
struct Command {
    words: Vec<String>,
    comment: Option<String>,
    line: usize,
}

/// The simple commands of a shell block (`sh`: every line; `console`: the
/// lines after a `$ ` prompt), skipping heredoc bodies and joining `\`
/// continuations.
fn commands(block: &Block) -> Vec<Command> {
    let console = block.lang() == "console";
    let mut out = Vec::new();
    let mut heredoc: Option<String> = None;
    let mut pending = String::new();
    for (i, line) in block.text.lines().enumerate() {
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        let line = if console {
            match line.strip_prefix("$ ") {
                Some(command) => command,
                None => continue,
            }
        } else {
            line
        };
        if let Some(start) = line.strip_suffix('\\') {
            pending.push_str(start);
            pending.push(' ');
            continue;
        }
        let full = std::mem::take(&mut pending) + line;
        let (tokens, comment) = tokens(&full);
        let mut words = Vec::new();
        let mut tokens = tokens.into_iter().peekable();
        let mut finish = |words: &mut Vec<String>| {
            let command: Vec<String> = std::mem::take(words)
                .into_iter()
                .skip_while(|w: &String| {
                    w.split_once('=')
                        .is_some_and(|(k, _)| !k.is_empty() && !k.starts_with('-'))
                })
                .collect();
            if !command.is_empty() {
                out.push(Command {
                    words: command,
                    comment: comment.clone(),
                    line: i,
                });
            }
        };
        while let Some(token) = tokens.next() {
            match token {
                Token::Word(w) => words.push(w),
                Token::Op(op) if op == "<<" => {
                    if let Some(Token::Word(end)) = tokens.next() {
                        heredoc = Some(end);
                    }
                }
                Token::Op(op) if op.starts_with('<') || op.starts_with('>') => {
                    tokens.next(); // the file
                }
                Token::Op(_) => finish(&mut words),
            }
        }
        finish(&mut words);
    }
    assert!(heredoc.is_none(), "an unterminated heredoc");
    out
}

/// Whether a command runs `caliper`.
fn is_caliper(words: &[String]) -> bool {
    words
        .first()
        .is_some_and(|w| w == "caliper" || w.ends_with("/caliper"))
}

/// The flags a `--help` text defines (`-o`, `--output`, ...).
fn defined_flags(help: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for line in help.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        let spec = line.split("  ").next().unwrap();
        for piece in spec.split(", ") {
            let flag = piece
                .split([' ', '=', '['])
                .next()
                .unwrap()
                .trim_end_matches("...");
            let body = flag.trim_start_matches('-');
            let dashes = flag.len() - body.len();
            if ((dashes == 1 && body.chars().count() == 1) || (dashes == 2 && body.len() > 1))
                && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                flags.insert(flag.to_owned());
            }
        }
    }
    flags
}

/// The subcommands `caliper --help` lists.
fn subcommands(help: &str) -> BTreeSet<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// `caliper [SUBCOMMAND [SUBCOMMAND]] --help`, each asked once.
struct Helps {
    scratch: Scratch,
    /// By scope (the subcommands, space-separated; "" for the top level):
    /// the flags and the nested subcommands its help lists.
    scopes: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
}

impl Helps {
    fn new() -> Helps {
        Helps {
            scratch: Scratch::new(),
            scopes: BTreeMap::new(),
        }
    }

    fn scope(&mut self, scope: &str) -> &(BTreeSet<String>, BTreeSet<String>) {
        let scratch = &self.scratch;
        self.scopes.entry(scope.to_owned()).or_insert_with(|| {
            let mut args: Vec<&str> = scope.split_whitespace().collect();
            args.push("--help");
            let help = scratch.run(&args).expect_code(0).stdout();
            let flags = defined_flags(&help);
            assert!(
                flags.contains("--help") && flags.len() > 2,
                "no flags read from `caliper {scope} --help`: {flags:?}\n{help}"
            );
            (flags, subcommands(&help))
        })
    }

    /// Checks one `caliper ...` command line: its subcommand (and a nested
    /// one, as in `history prune`) exists and each flag it uses is defined
    /// for it. Returns the (top-level) subcommand.
    fn check(
        &mut self,
        words: &[String],
        subcommands: &BTreeSet<String>,
    ) -> Result<String, String> {
        let mut scope: Vec<String> = Vec::new();
        for word in &words[1..] {
            if word == "--" {
                break;
            }
            let flags: Vec<String> = if let Some(long) = word.strip_prefix("--") {
                vec![format!("--{}", long.split('=').next().unwrap())]
            } else if word.len() > 1
                && word.starts_with('-')
                && word[1..].chars().all(|c| c.is_ascii_alphabetic())
            {
                word[1..].chars().map(|c| format!("-{c}")).collect()
            } else {
                if scope.is_empty() {
                    if !subcommands.contains(word) {
                        return Err(format!("`caliper {word}`: no such subcommand"));
                    }
                    scope.push(word.clone());
                } else if scope.len() == 1 && self.scope(&scope.join(" ")).1.contains(word) {
                    scope.push(word.clone());
                }
                continue;
            };
            let name = scope.join(" ");
            let defined = &self.scope(&name).0;
            for flag in flags {
                if !defined.contains(&flag) {
                    return Err(format!(
                        "`caliper {name}` has no flag {flag} (it has {defined:?})"
                    ));
                }
            }
        }
        scope
            .into_iter()
            .next()
            .ok_or_else(|| "no subcommand".to_owned())
    }
}

#[test]
fn every_caliper_command_of_the_docs_names_a_real_subcommand_and_real_flags() {
    let mut helps = Helps::new();
    let top = helps.scratch.run(&["--help"]).expect_code(0).stdout();
    let subcommands = subcommands(&top);
    assert!(subcommands.len() >= 15, "{subcommands:?}");
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    let mut checked = 0;
    for (path, text) in pages() {
        for block in blocks(&text) {
            if !matches!(block.lang(), "sh" | "console") {
                continue;
            }
            for command in commands(&block) {
                if !is_caliper(&command.words) {
                    continue;
                }
                checked += 1;
                match helps.check(&command.words, &subcommands) {
                    Ok(sub) => {
                        used.insert(sub);
                    }
                    Err(e) => problems.push(format!(
                        "{}:{}: `{}`: {e}",
                        name(&path),
                        block.line + 1 + command.line,
                        command.words.join(" ")
                    )),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 50, "only {checked} caliper commands found");
    // Every subcommand is shown at work somewhere in the docs.
    let unused: Vec<_> = subcommands
        .iter()
        .filter(|s| *s != "help" && !used.contains(*s))
        .collect();
    assert!(unused.is_empty(), "no docs command uses {unused:?}");
}

#[test]
fn the_shell_reader_sees_commands_flags_and_comments() {
    let block = Block {
        line: 1,
        info: "sh".into(),
        text: "X=1 caliper run d.jsonl -o 'a b.jsonl' > out.txt  # exit code 1\n\
               cat > f <<'EOF'\ncaliper bogus\nEOF\n\
               caliper new m --lang c && cd m && make\n\
               caliper compare a b \\\n  --html r.html\n"
            .into(),
    };
    let found: Vec<(String, Option<String>)> = commands(&block)
        .into_iter()
        .map(|c| (c.words.join("|"), c.comment))
        .collect();
    let exit = Some("exit code 1".to_owned());
    assert_eq!(
        found,
        vec![
            ("caliper|run|d.jsonl|-o|a b.jsonl".to_owned(), exit),
            ("cat".to_owned(), None),
            ("caliper|new|m|--lang|c".to_owned(), None),
            ("cd|m".to_owned(), None),
            ("make".to_owned(), None),
            ("caliper|compare|a|b|--html|r.html".to_owned(), None),
        ]
    );
    let help = "Options:\n  -c, --config <FILE>\n          Config\n  -v, --verbose...\n\
                \x20     --format <FORMAT>\n          - table: A table\n  -h, --help  Print help\n";
    let flags: Vec<String> = defined_flags(help).into_iter().collect();
    assert_eq!(
        flags,
        [
            "--config",
            "--format",
            "--help",
            "--verbose",
            "-c",
            "-h",
            "-v"
        ]
    );
}

#[test]
fn every_caliper_toml_snippet_of_the_docs_is_accepted() {
    let s = Scratch::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (path, text) in pages() {
        for (i, block) in blocks(&text).into_iter().enumerate() {
            if block.lang() != "toml" {
                continue;
            }
            let at = format!("{}:{}", name(&path), block.line);
            match block.file() {
                None | Some("caliper.toml") => {
                    // `caliper alerts` parses and resolves the config offline:
                    // unknown keys, bad values, bad references and keys are
                    // errors, and no metric is loaded.
                    let file = format!("snippet-{i}.toml");
                    s.write(&file, &block.text);
                    let run = s.run(&["alerts", "-c", &file]);
                    checked += 1;
                    if run.code() != 0 {
                        problems.push(format!("{at}: {}", run.stderr()));
                    }
                }
                Some("metric.toml") => {
                    if let Err(e) = toml::from_str::<toml::Table>(&block.text) {
                        problems.push(format!("{at}: {e}"));
                    }
                }
                Some(other) => problems.push(format!("{at}: a TOML block of unknown file {other}")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 8, "only {checked} caliper.toml snippets found");
}

/// A GitHub heading anchor.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown text's headings.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(slug(line.trim_start_matches('#')));
        }
    }
    out
}

/// The targets of the inline links of a Markdown text, outside code blocks.
fn links(text: &str) -> Vec<String> {
    let mut in_code = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            out.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_of_the_docs_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    let pages = pages();
    for (path, text) in &pages {
        for target in links(text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            checked += 1;
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let resolved = if file.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap().join(file)
            };
            if !resolved.exists() {
                problems.push(format!("{}: {target}: no such file", name(path)));
                continue;
            }
            if !anchor.is_empty() {
                let text = std::fs::read_to_string(&resolved).unwrap_or_default();
                if !anchors(&text).contains(anchor) {
                    problems.push(format!(
                        "{}: {target}: no heading with anchor #{anchor} (has {:?})",
                        name(path),
                        anchors(&text)
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 40, "only {checked} links found");
    // The README leads to every page of the guide and to the three
    // top-level documents.
    let readme = links(&pages[0].1);
    for (path, _) in &pages[1..] {
        let page = format!("docs/{}", path.file_name().unwrap().to_string_lossy());
        assert!(
            readme
                .iter()
                .any(|l| l.split('#').next() == Some(page.as_str())),
            "README.md does not link to {page}"
        );
    }
    for doc in ["ARCHITECTURE.md", "SECURITY.md", "BENCHMARKS.md"] {
        assert!(
            readme.iter().any(|l| l == doc),
            "README.md does not link to {doc}"
        );
    }
}

/// A line of output with durations (`0.06s`) masked and runs of spaces
/// squeezed.
fn normalized(line: &str) -> String {
    line.split_whitespace()
        .map(|w| {
            let secs = w.trim_end_matches([',', ')']);
            match secs.strip_suffix('s') {
                Some(n) if n.parse::<f64>().is_ok() => "<duration>",
                _ => w,
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asserts that the lines `shown` (but `…` lines, which elide) appear in
/// `actual` in that order.
#[track_caller]
fn assert_shows(shown: &str, actual: &str, what: &str) {
    let actual: Vec<String> = actual.lines().map(normalized).collect();
    let mut at = 0;
    for line in shown.lines().filter(|l| l.trim() != "…") {
        let want = normalized(line);
        match actual[at..].iter().position(|l| *l == want) {
            Some(i) => at += i + 1,
            None => panic!(
                "{what}: the README shows\n  {line}\nbut the output (from line {at}) is\n{}",
                actual[at..].join("\n")
            ),
        }
    }
}

/// The README's tour section: from `## A tour` to the next `## ` heading.
fn tour() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("\n## A tour")
        .expect("README.md has a `## A tour` section");
    let section = &readme[start + 1..];
    let end = section.find("\n## ").unwrap_or(section.len());
    section[..end].to_owned()
}

/// The tour's `caliper.toml` with each component file pointing at the
/// component this build compiled from source (`builtin:` paths are kept).
fn with_built_components(config: &str) -> String {
    config
        .lines()
        .map(|line| match line.trim().strip_prefix("path = \"") {
            Some(rest) if rest.starts_with("builtin:") => line.to_owned(),
            Some(rest) => {
                let path = Path::new(rest.split('"').next().unwrap());
                let stem = path.file_stem().unwrap().to_string_lossy();
                format!(
                    "path = {:?}",
                    wasm(&stem.replace('_', "-")).display().to_string()
                )
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The README's tour, end to end, in a scratch directory: the files it
/// shows, the commands it runs (`caliper serve` on a free port), with the
/// exit codes, outputs and guardrail reply it shows.
#[test]
fn the_readme_tour_runs_end_to_end_with_the_outcomes_it_shows() {
    let s = Scratch::new();
    let mut server: Option<Server> = None;
    // What the last command printed (stdout and stderr), or replied.
    let mut output: Option<(String, String)> = None;
    let mut reply: Option<Value> = None;
    let mut ran = Vec::new();
    for block in blocks(&tour()) {
        let at = format!("README.md tour block at line {} of the section", block.line);
        match (block.lang(), block.file()) {
            (_, Some(file)) => {
                let text = if file == "caliper.toml" {
                    with_built_components(&block.text)
                } else {
                    if file.ends_with(".jsonl") {
                        for line in block.text.lines() {
                            serde_json::from_str::<Value>(line)
                                .unwrap_or_else(|e| panic!("{at}: {file}: {e}: {line}"));
                        }
                    }
                    block.text.clone()
                };
                s.write(file, &text);
            }
            ("sh", None) => {
                for command in commands(&block) {
                    let words: Vec<&str> = command.words.iter().map(String::as_str).collect();
                    let expected_code = command
                        .comment
                        .as_deref()
                        .and_then(|c| c.strip_prefix("exit code "))
                        .map(|c| c.split(|ch: char| !ch.is_ascii_digit()).next().unwrap())
                        .map_or(0, |c| c.parse::<i32>().unwrap());
                    match words.as_slice() {
                        // Setup of the reader's shell: the scratch directory
                        // is the tour's directory.
                        ["export", ..] | ["mkdir", ..] | ["cd", ..] => {}
                        ["caliper", "serve", rest @ ..] => {
                            server = Some(Server::start(&s, rest));
                            ran.push("serve".to_owned());
                        }
                        ["caliper", args @ ..] => {
                            let run = s.run(args);
                            let shown = command.words.join(" ");
                            assert_eq!(
                                run.code(),
                                expected_code,
                                "{at}: `{shown}` exits with another code than the README says \
                                 (a `# exit code N` comment, else 0)\n--- stdout\n{}\n--- stderr\n{}",
                                run.stdout(),
                                run.stderr()
                            );
                            // In the order a terminal shows them: notes printed
                            // before the run, then its table.
                            output = Some((shown, run.stderr() + &run.stdout()));
                            ran.push(args[0].to_owned());
                        }
                        ["curl", args @ ..] => {
                            let server = server.as_ref().expect("curl before caliper serve");
                            let url = args
                                .iter()
                                .find(|a| a.contains("/v1/"))
                                .unwrap_or_else(|| panic!("{at}: curl without a URL: {args:?}"));
                            let route = &url[url.find('/').unwrap()..];
                            let body = args
                                .iter()
                                .position(|a| *a == "-d")
                                .map(|i| args[i + 1])
                                .unwrap_or_else(|| panic!("{at}: curl without -d: {args:?}"));
                            let r = server.post(route, body);
                            assert_eq!(r.status, 200, "{at}: {route}: {}", r.body);
                            reply = Some(r.json());
                            ran.push("curl".to_owned());
                        }
                        other => {
                            panic!("{at}: the tour runs {other:?}, which this test cannot run")
                        }
                    }
                }
            }
            ("text", None) => {
                let (command, printed) = output
                    .take()
                    .unwrap_or_else(|| panic!("{at}: output shown for no command"));
                assert_shows(&block.text, &printed, &command);
            }
            ("json", None) => {
                let actual = reply
                    .take()
                    .unwrap_or_else(|| panic!("{at}: a reply shown for no request"));
                let shown: Value = serde_json::from_str(&block.text.replace('…', ""))
                    .unwrap_or_else(|e| panic!("{at}: the reply shown is not JSON: {e}"));
                for key in ["verdict", "blocked_by"] {
                    assert_eq!(
                        shown[key], actual[key],
                        "{at}: {key}; the reply is {actual}"
                    );
                }
            }
            (other, None) => panic!("{at}: a ```{other} block the tour test cannot check"),
        }
    }
    for step in ["run", "compare", "serve", "curl"] {
        assert!(
            ran.iter().any(|r| r == step),
            "the tour never ran {step}: {ran:?}"
        );
    }
    if let Some(server) = server {
        let (code, logs) = server.stop();
        assert_eq!(code, 0, "{logs}");
    }
}
