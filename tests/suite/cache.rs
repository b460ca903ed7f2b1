//! The compile cache cannot change what runs, and trust comes before code:
//! entries are authenticated (an entry swapped for another component's is
//! recompiled, never run), a cache directory other users can write is
//! refused, and a component the lock or the trust policy refuses is never
//! compiled, cached, instantiated or described.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use caliper_tests::{Run, Scratch, run_within, wasm};

/// `caliper ARGS` in `s`, with a cache key of its own (never the user's).
fn caliper(s: &Scratch) -> Command {
    let mut cmd = s.caliper();
    cmd.env("CALIPER_CACHE_KEY_FILE", key_file(s));
    cmd
}

fn key_file(s: &Scratch) -> PathBuf {
    s.path().join("config").join("cache.key")
}

fn run(s: &Scratch, args: &[&str]) -> Run {
    Run(caliper(s).args(args).output().expect("running caliper"))
}

fn copy_component(s: &Scratch, package: &str, name: &str) -> PathBuf {
    let path = s.path().join(name);
    std::fs::copy(wasm(package), &path).unwrap();
    path
}

fn keygen(s: &Scratch, file: &str) -> String {
    let run = run(s, &["keygen", "-o", file]).expect_code(0);
    run.stdout()
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .unwrap_or_else(|| panic!("no public key in {}", run.stdout()))
        .to_owned()
}

fn sign(s: &Scratch, file: &str) {
    run(s, &["sign", file, "--key", "team.pem"]).expect_code(0);
}

/// The cache entries in `dir` (none if it does not exist).
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The entry of the component at `component`, by its digest.
fn entry_of(dir: &Path, component: &Path) -> PathBuf {
    let digest = caliper_engine::plugin::digest_of(&std::fs::read(component).unwrap());
    let hex = digest.trim_start_matches("sha256:");
    entries(dir)
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(hex))
        .unwrap_or_else(|| panic!("no entry for {digest} in {:?}", entries(dir)))
}

/// Writes `caliper.lock`: each metric instance pinned to the digest of a
/// file.
fn write_lock(s: &Scratch, pins: &[(&str, &str)]) {
    let mut lock = String::from("version = 1\n");
    for (name, file) in pins {
        let bytes = std::fs::read(s.path().join(file)).unwrap();
        let digest = caliper_engine::plugin::digest_of(&bytes);
        lock.push_str(&format!(
            "\n[[metric]]\nname = \"{name}\"\nsource = \"{file}\"\ndigest = \"{digest}\"\ncomponent = \"x 1.0.0\"\n"
        ));
    }
    s.write("caliper.lock", &lock);
}

const DATA: &str = "{\"id\": \"a\", \"output\": \"one two three\"}\n";

fn trusted_config(s: &Scratch, team: &str, metrics: &str) {
    s.write(
        "caliper.toml",
        &format!(
            "[trust]\nkeys = [\"{team}\"]\nrequire_signature = true\n\n[cache]\ndir = \"cache\"\n\n{metrics}"
        ),
    );
}

#[test]
fn an_entry_swapped_for_another_components_is_recompiled_never_run() {
    let s = Scratch::new();
    s.write("data.jsonl", DATA);
    let team = keygen(&s, "team.pem");
    let len = copy_component(&s, "response-length", "len.wasm");
    let kw = copy_component(&s, "keyword", "kw.wasm");
    sign(&s, "len.wasm");
    sign(&s, "kw.wasm");
    trusted_config(
        &s,
        &team,
        "[[metric]]\nname = \"len\"\npath = \"len.wasm\"\n",
    );
    run(&s, &["lock"]).expect_code(0);
    let cache = s.path().join("cache");
    let out = [
        "run",
        "data.jsonl",
        "--locked",
        "--no-history",
        "-o",
        "out.jsonl",
    ];

    // First run: compiles and fills the cache; the key is private and
    // outside the cache directory.
    run(&s, &out).expect_code(0);
    assert_eq!(s.results("out.jsonl")[0]["name"], "response-length");
    let len_entry = entry_of(&cache, &len);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key_file(&s)), 0o600);
        assert_eq!(mode(&cache), 0o700);
    }
    // Another component's (authentic) entry, made with the same key.
    run(&s, &["inspect", "kw.wasm", "--cache-dir", "cache"]).expect_code(0);
    let kw_entry = entry_of(&cache, &kw);
    std::fs::copy(&kw_entry, &len_entry).unwrap();

    // The signed, locked metric still runs its own code: the swapped entry
    // does not authenticate, so it is recompiled, with a warning.
    let swapped = run(&s, &out).expect_code(0);
    let results = s.results("out.jsonl");
    assert_eq!(results[0]["name"], "response-length", "{results:?}");
    assert_eq!(results[0]["metric"], "len");
    assert!(
        swapped.stderr().contains("does not authenticate"),
        "{}",
        swapped.stderr()
    );
    assert!(
        swapped
            .stderr()
            .contains(&len_entry.file_name().unwrap().to_string_lossy().to_string()),
        "{}",
        swapped.stderr()
    );
    // ... and the entry was replaced by an authentic one: the next run is
    // quiet and still the signed metric's.
    assert_ne!(
        std::fs::read(&len_entry).unwrap(),
        std::fs::read(&kw_entry).unwrap()
    );
    let again = run(&s, &out).expect_code(0);
    assert!(!again.stderr().contains("WARN"), "{}", again.stderr());
    assert_eq!(s.results("out.jsonl")[0]["name"], "response-length");

    // A crafted entry (not written by the cache at all) is no better.
    std::fs::write(
        &len_entry,
        b"CALIPER2 not an artifact, not a MAC either....",
    )
    .unwrap();
    let crafted = run(&s, &out).expect_code(0);
    assert!(
        crafted.stderr().contains("compile cache entry"),
        "{}",
        crafted.stderr()
    );
    assert_eq!(s.results("out.jsonl")[0]["name"], "response-length");
}

#[cfg(unix)]
#[test]
fn a_cache_dir_other_users_can_write_is_refused_and_the_run_still_succeeds() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new();
    s.write("data.jsonl", DATA);
    let cache = s.path().join("shared-cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    s.write(
        "caliper.toml",
        "[cache]\ndir = \"shared-cache\"\n\n[[metric]]\nname = \"len\"\npath = \"len.wasm\"\n",
    );
    copy_component(&s, "response-length", "len.wasm");
    let run = run(
        &s,
        &["run", "data.jsonl", "--no-history", "-o", "out.jsonl"],
    )
    .expect_code(0);
    let stderr = run.stderr();
    assert_eq!(s.results("out.jsonl")[0]["name"], "response-length");
    assert!(stderr.contains("compile cache disabled"), "{stderr}");
    assert!(stderr.contains("writable by other users"), "{stderr}");
    assert!(stderr.contains("shared-cache"), "{stderr}");
    assert_eq!(
        stderr.matches("compile cache disabled").count(),
        1,
        "{stderr}"
    );
    assert!(entries(&cache).is_empty(), "{:?}", entries(&cache));
    // A key file others can read is refused the same way.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::create_dir_all(key_file(&s).parent().unwrap()).unwrap();
    std::fs::write(key_file(&s), [7u8; 32]).unwrap();
    std::fs::set_permissions(key_file(&s), std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = self::run(
        &s,
        &["run", "data.jsonl", "--no-history", "-o", "out.jsonl"],
    )
    .expect_code(0);
    assert!(run.stderr().contains("cache key"), "{}", run.stderr());
    assert!(run.stderr().contains("chmod 600"), "{}", run.stderr());
    assert!(entries(&cache).is_empty(), "{:?}", entries(&cache));
}

/// Every command that loads a config's metrics, and `serve`'s start.
const LOADERS: &[&[&str]] = &[
    &["run", "data.jsonl", "--no-history", "--locked"],
    &["list"],
    &["lock", "--check"],
    &["serve", "--bind", "127.0.0.1:0", "--locked"],
];

#[test]
fn an_unsigned_component_is_refused_before_any_of_its_code_is_compiled_or_run() {
    let s = Scratch::new();
    s.write("data.jsonl", DATA);
    let team = keygen(&s, "team.pem");
    copy_component(&s, "response-length", "len.wasm");
    sign(&s, "len.wasm");
    // `hostile` would sleep for an hour in `configure`; `hostile-describe`
    // would be refused for its self-description if `describe` ran.
    copy_component(&s, "hostile", "sleepy.wasm");
    copy_component(&s, "hostile-describe", "liar.wasm");
    trusted_config(
        &s,
        &team,
        "[[metric]]\nname = \"len\"\npath = \"len.wasm\"\n\n\
         [[metric]]\nname = \"sleepy\"\npath = \"sleepy.wasm\"\nconfig = { mode = \"sleep-configure\" }\n\n\
         [[metric]]\nname = \"liar\"\npath = \"liar.wasm\"\n",
    );
    // A lock that matches the files (so only the signature refuses them).
    write_lock(
        &s,
        &[
            ("len", "len.wasm"),
            ("sleepy", "sleepy.wasm"),
            ("liar", "liar.wasm"),
        ],
    );
    let cache = s.path().join("cache");
    for args in LOADERS {
        let (run, took) = run_within(caliper(&s), args, Duration::from_secs(60));
        let stderr = run.stderr();
        assert_eq!(run.code(), 2, "{args:?}: {stderr}");
        for metric in ["sleepy", "liar"] {
            assert!(
                stderr.contains(&format!("metric `{metric}`")),
                "{args:?}: {stderr}"
            );
        }
        assert_eq!(
            stderr.matches("not signed").count(),
            2,
            "{args:?}: {stderr}"
        );
        // `describe` never ran.
        assert!(!stderr.contains("self-description"), "{args:?}: {stderr}");
        assert!(took < Duration::from_secs(20), "{args:?} took {took:?}");
        // Only the admitted, signed metric was compiled.
        let cached = entries(&cache);
        assert!(cached.len() <= 1, "{args:?}: {cached:?}");
        if let Some(entry) = cached.first() {
            assert_eq!(*entry, entry_of(&cache, &s.path().join("len.wasm")));
        }
    }

    // A lock digest mismatch, on a trusted signature: the same.
    std::fs::remove_dir_all(&cache).ok();
    trusted_config(
        &s,
        &team,
        "[[metric]]\nname = \"sleepy\"\npath = \"sleepy.wasm\"\nconfig = { mode = \"sleep-configure\" }\n",
    );
    // Locked to the signed `len.wasm`; the file is now another component,
    // signed by the trusted key too.
    write_lock(&s, &[("sleepy", "len.wasm")]);
    copy_component(&s, "hostile", "sleepy.wasm");
    sign(&s, "sleepy.wasm");
    for args in LOADERS.iter().filter(|a| a.contains(&"--locked")) {
        let (run, took) = run_within(caliper(&s), args, Duration::from_secs(60));
        let stderr = run.stderr();
        assert_eq!(run.code(), 2, "{args:?}: {stderr}");
        assert!(stderr.contains("metric `sleepy`"), "{args:?}: {stderr}");
        assert!(
            stderr.contains("does not match the lock file"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("not signed"), "{args:?}: {stderr}");
        assert!(took < Duration::from_secs(20), "{args:?} took {took:?}");
        assert!(
            entries(&cache).is_empty(),
            "{args:?}: {:?}",
            entries(&cache)
        );
    }
}

#[test]
fn a_reload_to_an_unsigned_component_is_refused_before_it_is_compiled() {
    let s = Scratch::new();
    let team = keygen(&s, "team.pem");
    let len = copy_component(&s, "response-length", "len.wasm");
    sign(&s, "len.wasm");
    trusted_config(
        &s,
        &team,
        "[[metric]]\nname = \"len\"\npath = \"len.wasm\"\n",
    );
    let signed = caliper_engine::plugin::digest_of(&std::fs::read(&len).unwrap());
    let server = caliper_tests::Server::start(&s, &[]);
    assert_eq!(server.metric_view("len")["digest"], signed.as_str());
    let cache = s.path().join("cache");
    let before = entries(&cache);
    assert_eq!(before, vec![entry_of(&cache, &len)]);

    // An unsigned component whose `describe` would be refused if it ran.
    let tmp = s.path().join("len.tmp");
    std::fs::copy(wasm("hostile-describe"), &tmp).unwrap();
    std::fs::rename(&tmp, &len).unwrap();
    let started = Instant::now();
    let refused = loop {
        let m = server.metric_view("len");
        if let Some(e) = m["last_reload"]["error"].as_str() {
            break e.to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{m}\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(refused.contains("not signed"), "{refused}");
    assert!(!refused.contains("self-description"), "{refused}");
    assert_eq!(entries(&cache), before);
    assert_eq!(server.metric_view("len")["digest"], signed.as_str());
    server.stop();
}
