//! Hot reload from a Kubernetes ConfigMap volume: every key is a symlink
//! `name -> ..data/name`, and `..data` is a symlink to a timestamped
//! directory that the kubelet swaps with one atomic rename. No event names
//! a watched file, yet `caliper serve` must serve the new version.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use caliper_tests::{Scratch, Server, wasm, with_custom_section};
use serde_json::json;

/// Writes `files` into a new timestamped directory and makes it the
/// current `..data`, the way the kubelet's atomic writer does: a new link
/// `..data_tmp`, renamed over `..data`, then the old directory removed.
fn publish(root: &Path, generation: u32, files: &[(&str, &[u8])]) {
    let dir = format!("..2026_12_02_18_00_{generation:02}.{generation:09}");
    std::fs::create_dir(root.join(&dir)).unwrap();
    for (name, bytes) in files {
        std::fs::write(root.join(&dir).join(name), bytes).unwrap();
    }
    let old = std::fs::read_link(root.join("..data")).ok();
    symlink(&dir, root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    for (name, _) in files {
        let link = root.join(name);
        if std::fs::symlink_metadata(&link).is_err() {
            symlink(Path::new("..data").join(name), &link).unwrap();
        }
    }
    if let Some(old) = old {
        std::fs::remove_dir_all(root.join(old)).unwrap();
    }
}

fn config(max_words: u32) -> String {
    format!(
        "[serve]\nreload_debounce_ms = 20\n\n[[metric]]\nname = \"len\"\npath = \"len.wasm\"\n\
         config = {{ unit = \"words\", min = 1, max = {max_words} }}\n"
    )
}

fn digest_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The outcome of `len` on a five-word answer.
fn outcome(server: &Server) -> String {
    let body = json!({"sample": {"id": "s", "output": "one two three four five"}});
    let r = server.post("/v1/evaluate", &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["results"][0]["outcome"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_configmap_data_swap_reloads_the_config_and_the_component() {
    let s = Scratch::new();
    let root = s.path();
    let v1 = std::fs::read(wasm("response-length")).unwrap();
    publish(
        root,
        1,
        &[("caliper.toml", config(10).as_bytes()), ("len.wasm", &v1)],
    );
    assert!(
        std::fs::symlink_metadata(root.join("caliper.toml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let server = Server::start(&s, &[]);
    assert_eq!(outcome(&server), "pass");
    assert_eq!(server.metric_view("len")["digest"], digest_of(&v1).as_str());

    // New config (at most 3 words) and a new build of the component.
    let v2 = with_custom_section(&v1, "configmap generation 2");
    publish(
        root,
        2,
        &[("caliper.toml", config(3).as_bytes()), ("len.wasm", &v2)],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.metric_view("len")["digest"] != digest_of(&v2).as_str() {
        assert!(
            Instant::now() < deadline,
            "the swap was not seen: {}\n{}",
            server.metric_view("len"),
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(outcome(&server), "fail", "the new config serves");

    // And a second swap, through the links' new targets.
    publish(
        root,
        3,
        &[("caliper.toml", config(10).as_bytes()), ("len.wasm", &v2)],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while outcome(&server) != "pass" {
        assert!(
            Instant::now() < deadline,
            "the second swap was not seen:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, logs) = server.stop();
    assert_eq!(code, 0, "{logs}");
}
