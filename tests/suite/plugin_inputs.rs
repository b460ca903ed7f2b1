//! What a plugin is made of, and what it says about itself, is bounded: a
//! plugin path must be a regular file under the size cap (a FIFO cannot
//! hang a command, a huge file is not read), and a metric whose
//! `describe()` is out of bounds (a 1 MiB name, CR/LF and ANSI escapes in
//! its version) is refused at load, quickly, with none of its control
//! characters reaching the terminal.

use std::time::{Duration, Instant};

use caliper_tests::{Scratch, run_within, wasm};

const DATA: &str = "{\"id\": \"a\", \"output\": \"one two three\"}\n";

#[cfg(unix)]
#[test]
fn a_plugin_path_must_be_a_regular_file_under_the_size_cap() {
    let s = Scratch::new();
    s.write("data.jsonl", DATA);
    // A FIFO nobody writes to: reading it would block forever.
    let fifo = s.path().join("fifo.wasm");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    // A sparse file over the cap: reading it would take 300 MiB.
    let big = s.path().join("big.wasm");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    for (file, why) in [
        ("fifo.wasm", "it is a FIFO, not a regular file"),
        ("big.wasm", "more than the 256 MiB a component may be"),
        (".", "it is a directory, not a regular file"),
    ] {
        s.write(
            "caliper.toml",
            &format!("[[metric]]\nname = \"m\"\npath = \"{file}\"\n"),
        );
        for args in [
            &["list"][..],
            &["run", "data.jsonl", "--no-history"],
            &["inspect", file],
        ] {
            let run = run_within(s.caliper(), args, Duration::from_secs(30)).0;
            let stderr = run.stderr();
            assert_eq!(run.code(), 2, "{file} {args:?}: {stderr}");
            assert!(stderr.contains(why), "{file} {args:?}: {stderr}");
            if file != "." {
                assert!(stderr.contains(file), "{file} {args:?}: {stderr}");
            }
        }
    }
}

#[test]
fn a_hostile_self_description_is_refused_cleanly_and_fast() {
    let s = Scratch::new();
    s.write("data.jsonl", DATA);
    let component = wasm("hostile-describe");
    s.write(
        "caliper.toml",
        &format!(
            "[[metric]]\nname = \"liar\"\npath = {:?}\n\n[[metric]]\nname = \"len\"\npath = {:?}\n",
            component.display().to_string(),
            wasm("response-length").display().to_string()
        ),
    );
    let path = component.to_str().unwrap();
    for args in [
        &["run", "data.jsonl", "--no-history", "-o", "out.jsonl"][..],
        &["list"],
        &["list", "--json"],
        &["inspect", path],
        &["inspect", path, "--json"],
    ] {
        let started = Instant::now();
        let run = run_within(s.caliper(), args, Duration::from_secs(60)).0;
        let took = started.elapsed();
        let stderr = run.stderr();
        assert_eq!(run.code(), 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("its self-description is refused"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains("`name` is 1048"), "{args:?}: {stderr}");
        assert!(stderr.contains(path), "{args:?}: {stderr}");
        if args[0] != "inspect" {
            assert!(stderr.contains("metric `liar`"), "{args:?}: {stderr}");
        }
        // Short, and none of the metric's control bytes got through.
        assert!(stderr.len() < 4096, "{args:?}: {} bytes", stderr.len());
        for stream in [&run.0.stderr, &run.0.stdout] {
            assert!(!stream.contains(&0x1b), "{args:?}: raw ESC: {stderr:?}");
            assert!(!stream.contains(&b'\r'), "{args:?}: raw CR: {stderr:?}");
            assert!(!stream.contains(&0x07), "{args:?}: raw BEL: {stderr:?}");
        }
        assert!(took < Duration::from_secs(30), "{args:?} took {took:?}");
    }
    assert!(!s.path().join("out.jsonl").exists());
}
