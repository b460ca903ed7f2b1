//! The top-level sections of a Wasm component or module, read without
//! compiling anything, and custom sections appended: how a package's
//! manifest and signatures ride inside its `.wasm`.

/// The top-level sections of a component or module: (id, byte range of
/// the whole section).
pub fn sections(wasm: &[u8]) -> Result<Vec<(u8, std::ops::Range<usize>)>, String> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err("not a WebAssembly binary".into());
    }
    let mut out = Vec::new();
    let mut at = 8;
    while at < wasm.len() {
        let start = at;
        let id = wasm[at];
        at += 1;
        let (size, used) = leb128(&wasm[at..]).ok_or("truncated section header")?;
        at += used;
        let end = at.checked_add(size).filter(|&e| e <= wasm.len());
        let end = end.ok_or("a section runs past the end of the file")?;
        out.push((id, start..end));
        at = end;
    }
    Ok(out)
}

fn leb128(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value: usize = 0;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The payload of a custom section named `name` at `range`, if it is one.
pub fn custom_payload<'a>(
    wasm: &'a [u8],
    range: &std::ops::Range<usize>,
    name: &str,
) -> Option<&'a [u8]> {
    let section = &wasm[range.clone()];
    let (_, used) = leb128(&section[1..])?;
    let body = &section[1 + used..];
    let (len, used) = leb128(body)?;
    let rest = body.get(used..)?;
    (rest.get(..len)? == name.as_bytes()).then(|| &rest[len..])
}

/// A copy of a component (or module) with a custom section appended. Custom
/// sections do not change what the code does, so this is how metadata rides
/// inside a `.wasm` (and how tests and benchmarks make a new digest of the
/// same metric).
pub fn append_custom_section(wasm: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut body = Vec::with_capacity(name.len() + payload.len() + 5);
    leb128(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut out = Vec::with_capacity(wasm.len() + body.len() + 6);
    out.extend_from_slice(wasm);
    out.push(0); // custom section id
    leb128(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}
