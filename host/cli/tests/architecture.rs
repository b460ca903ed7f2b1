//! Architecture check: no dependency cycle between the modules of any crate under `host/`, the
//! host crates depend on each other only downwards, and the heavy or front-end external crates are
//! used only where they belong. It reads the sources and `Cargo.toml` files; it builds nothing.
//!
//! Std only (no dev-dependency needed). It walks up from `CARGO_MANIFEST_DIR` to the workspace
//! root, so it works from whichever crate holds it.
//!
//! What counts as an edge of module file `a` to module file `b` (b != a): `use crate::…`,
//! `crate::…` in code, `super::…`/`self::…` resolved, a relative path to a child module
//! (`mapping::Mapper` in `dataset/mod.rs`), serde attributes naming `crate::…` functions, and, in
//! a binary, `<library>::…`. Comments and string literals are ignored. Each path points at the
//! deepest module *file* it names; `pub use` re-exports in a parent are edges parent -> child, so a
//! child that imports from its parent's file closes a cycle: put shared items in a leaf sibling
//! and keep `mod.rs`/`lib.rs` to declarations and re-exports.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Cycles tolerated for now, as sorted module lists (`crate/module::path`): none is left. A new
/// cycle, or a listed one that grew, fails the test; a listed one that is gone fails too, so the
/// list only ever shrinks.
const KNOWN_CYCLES: &[&[&str]] = &[];

/// Which host crates (package names) each host crate may depend on (normal dependencies).
const CRATE_DEPS: &[(&str, &[&str])] = &[
    ("caliper-types", &[]),
    ("caliper-config", &["caliper-types"]),
    ("caliper-dataset", &["caliper-types", "caliper-otel"]),
    ("caliper-package", &["caliper-types"]),
    ("caliper-oci", &["caliper-types", "caliper-package"]),
    ("caliper-report", &["caliper-types"]),
    ("caliper-history", &["caliper-types", "caliper-report"]),
    ("caliper-builtin", &["caliper-types"]),
    ("caliper-otel", &["caliper-types"]),
    (
        "caliper-engine",
        &["caliper-types", "caliper-config", "caliper-package"],
    ),
    (
        "caliper-run",
        &[
            "caliper-types",
            "caliper-config",
            "caliper-dataset",
            "caliper-package",
            "caliper-engine",
            "caliper-report",
        ],
    ),
    (
        "caliper-dispatch",
        &[
            "caliper-types",
            "caliper-config",
            "caliper-engine",
            "caliper-run",
        ],
    ),
    (
        "caliper-serve",
        &[
            "caliper-types",
            "caliper-config",
            "caliper-dataset",
            "caliper-package",
            "caliper-engine",
            "caliper-report",
            "caliper-otel",
            "caliper-dispatch",
        ],
    ),
    ("caliper-cli", &["*"]),
];

/// External crates (Cargo names) allowed only in these host crates.
const EXTERNAL_HOMES: &[(&str, &[&str])] = &[
    ("wasmtime", &["caliper-engine"]),
    ("wasmtime-wasi", &["caliper-engine"]),
    ("wasmtime-wasi-io", &["caliper-engine"]),
    ("clap", &["caliper-cli"]),
    ("indicatif", &["caliper-cli"]),
    ("tracing-subscriber", &["caliper-cli"]),
    ("ctrlc", &["caliper-cli"]),
    // one error style per layer: thiserror in the libraries, anyhow in the binary
    ("anyhow", &["caliper-cli"]),
    ("rusqlite", &["caliper-history"]),
    ("async-nats", &["caliper-dispatch"]),
    // the OTLP messages and their encoding stay behind caliper-otel's functions
    ("opentelemetry-proto", &["caliper-otel"]),
    ("prost", &["caliper-otel"]),
    ("oci-client", &["caliper-oci"]),
    ("reqwest", &["caliper-oci"]),
    ("rustls", &["caliper-oci"]),
    ("axum", &["caliper-serve"]),
    ("hyper", &["caliper-serve"]),
    ("hyper-util", &["caliper-serve"]),
    ("prometheus", &["caliper-serve"]),
    ("notify", &["caliper-serve"]),
    ("arc-swap", &["caliper-serve"]),
    ("sketches-ddsketch", &["caliper-run"]),
];

// ------------------------------------------------------------------------------------------------
// Source scanning
// ------------------------------------------------------------------------------------------------

/// `text` with comments, string and char literals blanked (newlines kept).
fn blank(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let blank_to = |out: &mut Vec<u8>, s: &[u8]| {
        for &c in s {
            out.push(if c == b'\n' { b'\n' } else { b' ' });
        }
    };
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            let end = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
            blank_to(&mut out, &b[i..end]);
            i = end;
            continue;
        }
        if b[i..].starts_with(b"/*") {
            let (mut depth, mut j) = (1, i + 2);
            while j < b.len() && depth > 0 {
                if b[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if b[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                } else {
                    j += 1;
                }
            }
            blank_to(&mut out, &b[i..j]);
            i = j;
            continue;
        }
        let prev_ident = i > 0 && ident(b[i - 1]);
        // raw strings: r"..", r#".."#, br#".."#
        if !prev_ident && (b[i] == b'r' || (b[i] == b'b' && b.get(i + 1) == Some(&b'r'))) {
            let mut j = if b[i] == b'b' { i + 2 } else { i + 1 };
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) == Some(&b'"') {
                let mut close = b"\"".to_vec();
                close.extend(std::iter::repeat_n(b'#', hashes));
                let body = j + 1;
                let end = b[body..]
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                    .map_or(b.len(), |p| body + p + close.len());
                out.extend_from_slice(&b[i..body]);
                blank_to(
                    &mut out,
                    &b[body..end.saturating_sub(close.len()).max(body)],
                );
                out.extend_from_slice(&b[end.saturating_sub(close.len()).max(body)..end]);
                i = end;
                continue;
            }
        }
        if b[i] == b'"' || (!prev_ident && b[i] == b'b' && b.get(i + 1) == Some(&b'"')) {
            if b[i] == b'b' {
                out.push(b'b');
                i += 1;
            }
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                if b[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            out.push(b'"');
            blank_to(&mut out, &b[i + 1..j.min(b.len())]);
            out.push(b'"');
            i = j + 1;
            continue;
        }
        if b[i] == b'\'' {
            // char literal ('x', '\n', '\u{..}', multi-byte) or a lifetime
            if b.get(i + 1) == Some(&b'\\') {
                let end = b[i + 2..]
                    .iter()
                    .position(|&c| c == b'\'')
                    .map_or(b.len(), |p| i + 2 + p + 1);
                blank_to(&mut out, &b[i..end]);
                i = end;
                continue;
            }
            let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
            if b.get(i + 1 + ch_len) == Some(&b'\'') {
                blank_to(&mut out, &b[i..i + 2 + ch_len]);
                i += 2 + ch_len;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).expect("blanking keeps UTF-8 boundaries")
}

/// Tokens: identifiers, `::`, and single punctuation characters, each with its line.
fn tokens(code: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = code.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\n' {
            line += 1;
        } else if c.is_alphabetic() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if d.is_alphanumeric() || d == '_' {
                    end = j + d.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            out.push((code[i..end].to_owned(), line));
        } else if c == ':' && chars.peek().map(|&(_, d)| d) == Some(':') {
            chars.next();
            out.push(("::".to_owned(), line));
        } else if !c.is_whitespace() {
            out.push((c.to_string(), line));
        }
    }
    out
}

/// One module file of a crate.
struct ModFile {
    path: PathBuf,
    /// Module path inside the crate (`[]` for the root).
    module: Vec<String>,
}

/// The module files of the crate rooted at `root` (lib.rs or main.rs), following `mod x;`.
fn module_files(root: &Path) -> Vec<ModFile> {
    let mut out = Vec::new();
    let mut todo = vec![(root.to_owned(), Vec::<String>::new())];
    while let Some((path, module)) = todo.pop() {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let toks = tokens(&blank(&text));
        let dir = match path.file_name().and_then(|n| n.to_str()) {
            Some("lib.rs" | "main.rs" | "mod.rs") => path.parent().unwrap().to_owned(),
            _ => path.with_extension(""),
        };
        let mut depth = 0usize;
        for k in 0..toks.len() {
            match toks[k].0.as_str() {
                "{" => depth += 1,
                "}" => depth = depth.saturating_sub(1),
                "mod" if depth == 0 && toks.get(k + 2).is_some_and(|t| t.0 == ";") => {
                    let name = toks[k + 1].0.clone();
                    let file = [
                        dir.join(format!("{name}.rs")),
                        dir.join(&name).join("mod.rs"),
                    ]
                    .into_iter()
                    .find(|p| p.exists());
                    if let Some(file) = file {
                        let mut m = module.clone();
                        m.push(name);
                        todo.push((file, m));
                    }
                }
                _ => {}
            }
        }
        out.push(ModFile { path, module });
    }
    out
}

/// A use of another module file.
#[derive(Debug, Clone)]
struct Edge {
    to_crate: String,
    to: Vec<String>,
    line: usize,
    test: bool,
}

/// Parses a use tree starting at `toks[k]`; returns the full paths and the index after it.
fn use_tree(
    toks: &[(String, usize)],
    mut k: usize,
    prefix: Vec<String>,
    out: &mut Vec<(Vec<String>, usize)>,
) -> usize {
    let mut segs = prefix;
    loop {
        let Some((t, line)) = toks.get(k) else {
            return k;
        };
        match t.as_str() {
            "{" => {
                k += 1;
                while toks.get(k).is_some_and(|t| t.0 != "}") {
                    k = use_tree(toks, k, segs.clone(), out);
                    if toks.get(k).is_some_and(|t| t.0 == ",") {
                        k += 1;
                    }
                }
                return k + 1;
            }
            "*" => {
                segs.push("*".into());
                out.push((segs, *line));
                return k + 1;
            }
            _ => {
                segs.push(t.clone());
                k += 1;
                if toks.get(k).is_some_and(|t| t.0 == "::") {
                    k += 1;
                    continue;
                }
                if toks.get(k).is_some_and(|t| t.0 == "as") {
                    k += 2;
                }
                out.push((segs, *line));
                return k;
            }
        }
    }
}

/// The edges of one module file. `modules`: every module path of this crate; `lib`: the name of
/// the library crate a binary may use (`caliper_engine`, `caliper_run`, ...) with its crate key.
fn edges_of(
    file: &ModFile,
    crate_key: &str,
    modules: &BTreeSet<Vec<String>>,
    libs: &HashMap<String, String>,
) -> Vec<Edge> {
    let text = std::fs::read_to_string(&file.path).unwrap();
    let code = blank(&text);
    let toks = tokens(&code);
    let mut edges = Vec::new();
    // inline module stack: (name or None for a plain brace, is_test)
    let mut stack: Vec<(Option<String>, bool)> = Vec::new();
    let mut pending_mod: Option<(String, bool)> = None;
    let mut attr_test = false;
    let file_test = file
        .module
        .last()
        .is_some_and(|m| m == "tests" || m == "properties");
    let resolve =
        |segs: &[String], cur: &[String], inline: bool| -> Option<(String, Vec<String>)> {
            let (krate, abs): (String, Vec<String>) = match segs[0].as_str() {
                "crate" => (crate_key.to_owned(), segs[1..].to_vec()),
                "super" | "self" => {
                    let mut base = cur.to_vec();
                    let mut i = 0;
                    while i < segs.len() && (segs[i] == "super" || segs[i] == "self") {
                        if segs[i] == "super" {
                            base.pop();
                        }
                        i += 1;
                    }
                    base.extend_from_slice(&segs[i..]);
                    (crate_key.to_owned(), base)
                }
                first if libs.contains_key(first) => (libs[first].clone(), segs[1..].to_vec()),
                first
                    if !inline
                        && modules
                            .contains(&[file.module.clone(), vec![first.to_owned()]].concat()) =>
                {
                    (
                        crate_key.to_owned(),
                        [file.module.clone(), segs.to_vec()].concat(),
                    )
                }
                _ => return None,
            };
            Some((krate, abs))
        };
    let mut k = 0;
    while k < toks.len() {
        let t = toks[k].0.as_str();
        let line = toks[k].1;
        if t == "#" && toks.get(k + 1).is_some_and(|t| t.0 == "[") {
            let mut depth = 0;
            let mut j = k + 1;
            while j < toks.len() {
                if toks[j].0 == "[" {
                    depth += 1;
                } else if toks[j].0 == "]" {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                j += 1;
            }
            let attr: Vec<&str> = toks[k + 2..j].iter().map(|t| t.0.as_str()).collect();
            if attr == ["cfg", "(", "test", ")"] || attr == ["test"] {
                attr_test = true;
            }
            // serde(with = "crate::x::f") and friends: the literal is blanked, so read the raw text
            k = j + 1;
            continue;
        }
        if t == "mod" && toks.get(k + 2).is_some_and(|t| t.0 == "{") {
            pending_mod = Some((toks[k + 1].0.clone(), attr_test));
            attr_test = false;
            k += 2;
            continue;
        }
        match t {
            "{" => {
                match pending_mod.take() {
                    Some((name, test)) => stack.push((Some(name), test)),
                    None => stack.push((None, attr_test)),
                }
                attr_test = false;
                k += 1;
                continue;
            }
            "}" => {
                stack.pop();
                k += 1;
                continue;
            }
            ";" => attr_test = false,
            _ => {}
        }
        let inline: Vec<String> = stack.iter().filter_map(|s| s.0.clone()).collect();
        let cur = [file.module.clone(), inline.clone()].concat();
        let in_test = file_test || attr_test || stack.iter().any(|s| s.1);
        let prev = if k > 0 { toks[k - 1].0.as_str() } else { ";" };
        if t == "use" && matches!(prev, ";" | "{" | "}" | "]" | "pub" | ")") {
            let mut paths = Vec::new();
            let next = use_tree(&toks, k + 1, Vec::new(), &mut paths);
            for (segs, line) in paths {
                if let Some((krate, abs)) = resolve(&segs, &cur, !inline.is_empty()) {
                    edges.push(Edge {
                        to_crate: krate,
                        to: abs,
                        line,
                        test: in_test,
                    });
                }
            }
            attr_test = false;
            k = next;
            continue;
        }
        let starts_path =
            toks.get(k + 1).is_some_and(|t| t.0 == "::") && prev != "::" && prev != "$";
        if starts_path
            && (t
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_'))
        {
            let mut segs = vec![t.to_owned()];
            let mut j = k + 1;
            while toks.get(j).is_some_and(|t| t.0 == "::")
                && toks.get(j + 1).is_some_and(|t| {
                    t.0.chars()
                        .next()
                        .is_some_and(|c| c.is_alphabetic() || c == '_')
                })
            {
                segs.push(toks[j + 1].0.clone());
                j += 2;
            }
            if let Some((krate, abs)) = resolve(&segs, &cur, !inline.is_empty()) {
                edges.push(Edge {
                    to_crate: krate,
                    to: abs,
                    line,
                    test: in_test,
                });
            }
            k = j;
            continue;
        }
        k += 1;
    }
    // paths inside serde attributes: `deserialize_with = "crate::audit::date_text"`
    for (i, l) in text.lines().enumerate() {
        for key in [
            "with = \"",
            "deserialize_with = \"",
            "serialize_with = \"",
            "default = \"",
        ] {
            if let Some(rest) = l.split(key).nth(1) {
                let p = rest.split('"').next().unwrap_or("");
                if p.starts_with("crate::") || p.starts_with("super::") {
                    let segs: Vec<String> = p.split("::").map(str::to_owned).collect();
                    if let Some((krate, abs)) = resolve(&segs, &file.module, false) {
                        edges.push(Edge {
                            to_crate: krate,
                            to: abs,
                            line: i + 1,
                            test: false,
                        });
                    }
                }
            }
        }
    }
    edges
}

// ------------------------------------------------------------------------------------------------
// Graph
// ------------------------------------------------------------------------------------------------

fn tarjan(adj: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct S<'a> {
        adj: &'a BTreeMap<String, BTreeSet<String>>,
        index: HashMap<String, usize>,
        low: HashMap<String, usize>,
        stack: Vec<String>,
        on: BTreeSet<String>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit(s: &mut S, v: &str) {
        s.index.insert(v.to_owned(), s.next);
        s.low.insert(v.to_owned(), s.next);
        s.next += 1;
        s.stack.push(v.to_owned());
        s.on.insert(v.to_owned());
        for w in s.adj.get(v).into_iter().flatten() {
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on.remove(&w);
                comp.push(w.clone());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = S {
        adj,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in adj.keys() {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.out.sort();
    s.out
}

fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    loop {
        let manifest = dir.join("Cargo.toml");
        if std::fs::read_to_string(&manifest).is_ok_and(|t| t.contains("[workspace]")) {
            return dir;
        }
        assert!(
            dir.pop(),
            "no workspace root above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
}

/// `(package name, dependencies by package name)` of a Cargo.toml (the `[dependencies]` and
/// target-specific dependency tables; dev-dependencies are not checked).
fn manifest(path: &Path) -> (String, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut name = String::new();
    let mut deps = Vec::new();
    let mut section = String::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            section = l.trim_matches(|c| c == '[' || c == ']').to_owned();
            continue;
        }
        let Some((key, value)) = l.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        if section == "package" && key == "name" {
            name = value.trim().trim_matches('"').to_owned();
        }
        if section == "dependencies"
            || (section.starts_with("target.") && section.ends_with(".dependencies"))
        {
            // `foo = ...` or `foo.workspace = true`; `package = "x"` renames are not used in host/
            deps.push(key.split('.').next().unwrap().to_owned());
        }
    }
    (name, deps)
}

/// Every crate under host/: (package name, crate key, root file). A package with a library and
/// binaries gives one key per target (`caliper-cli`, `caliper-cli/bin`).
fn host_crates(root: &Path) -> Vec<(String, String, PathBuf, Vec<String>)> {
    let host = root.join("host");
    let mut dirs = vec![host.clone()];
    for e in std::fs::read_dir(&host).unwrap().flatten() {
        if e.path().join("Cargo.toml").exists() {
            dirs.push(e.path());
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        let Ok(_) = std::fs::metadata(d.join("Cargo.toml")) else {
            continue;
        };
        let (name, deps) = manifest(&d.join("Cargo.toml"));
        if d.join("src/lib.rs").exists() {
            out.push((
                name.clone(),
                name.clone(),
                d.join("src/lib.rs"),
                deps.clone(),
            ));
        }
        if d.join("src/main.rs").exists() {
            out.push((
                name.clone(),
                format!("{name}/bin"),
                d.join("src/main.rs"),
                deps.clone(),
            ));
        }
        if let Ok(bins) = std::fs::read_dir(d.join("src/bin")) {
            for b in bins.flatten() {
                if b.path().join("main.rs").exists() {
                    let bin = b.file_name().to_string_lossy().into_owned();
                    out.push((
                        name.clone(),
                        format!("{name}/bin/{bin}"),
                        b.path().join("main.rs"),
                        deps.clone(),
                    ));
                }
            }
        }
    }
    out.sort();
    out
}

fn lib_ident(package: &str) -> String {
    package.replace('-', "_")
}

#[test]
fn host_modules_have_no_cycles_and_crates_depend_downwards() {
    let root = workspace_root();
    let crates = host_crates(&root);
    let libs: HashMap<String, String> = crates
        .iter()
        .filter(|c| c.0 == c.1)
        .map(|c| (lib_ident(&c.0), c.1.clone()))
        .collect();
    let mut adj: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut why: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut problems = Vec::new();
    let allowed: HashMap<&str, &[&str]> = CRATE_DEPS.iter().copied().collect();
    for (package, key, root_file, deps) in &crates {
        // crate-level matrix
        if let Some(list) = allowed.get(package.as_str()) {
            for d in deps
                .iter()
                .filter(|d| d.starts_with("caliper-") && *d != "caliper-sdk")
            {
                if !list.contains(&"*") && !list.contains(&d.as_str()) {
                    problems.push(format!("{package} depends on {d}, which it may not"));
                }
            }
        } else if key == package {
            problems.push(format!(
                "{package} is not in CRATE_DEPS: say which host crates it may depend on"
            ));
        }
        for (ext, homes) in EXTERNAL_HOMES {
            if deps.iter().any(|d| d == ext) && !homes.contains(&package.as_str()) {
                problems.push(format!("{package} depends on {ext}; only {homes:?} may"));
            }
        }
        let files = module_files(root_file);
        let modules: BTreeSet<Vec<String>> = files.iter().map(|f| f.module.clone()).collect();
        let mut own_libs = libs.clone();
        own_libs.retain(|_, k| k != key); // a library does not name itself
        for f in &files {
            let from = format!("{key}/{}", f.module.join("::"));
            adj.entry(from.clone()).or_default();
            for e in edges_of(f, key, &modules, &own_libs) {
                if e.to_crate != *key {
                    continue; // cross-crate edges are checked on Cargo.toml above
                }
                // deepest module file the path names
                let mut to = e.to.clone();
                while !to.is_empty() && !modules.contains(&to) {
                    to.pop();
                }
                if to == f.module || e.test {
                    continue;
                }
                let to_name = format!("{key}/{}", to.join("::"));
                why.entry((from.clone(), to_name.clone()))
                    .or_insert_with(|| format!("{}:{}", f.path.display(), e.line));
                adj.entry(from.clone()).or_default().insert(to_name);
            }
        }
    }
    let cycles = tarjan(&adj);
    let known: Vec<Vec<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| {
            let mut v: Vec<String> = c.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        })
        .collect();
    for c in &cycles {
        if !known.contains(c) {
            let set: BTreeSet<&String> = c.iter().collect();
            let inner: Vec<String> = why
                .iter()
                .filter(|((a, b), _)| set.contains(a) && set.contains(b))
                .map(|((a, b), at)| format!("    {a} -> {b}  ({at})"))
                .collect();
            problems.push(format!(
                "module cycle: {}\n{}",
                c.join(", "),
                inner.join("\n")
            ));
        }
    }
    for k in &known {
        if !cycles.contains(k) {
            problems.push(format!(
                "KNOWN_CYCLES lists {k:?}, which is gone (or changed): update the list"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}
