//! OTLP/HTTP request bodies: protobuf or JSON, identity or gzip.

use std::io::Read;

use prost::Message;

use crate::ExportTraceServiceRequest;

/// Why a body is not a trace request Caliper can read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// Neither `application/x-protobuf` nor `application/json`.
    #[error(
        "unsupported Content-Type `{0}`: OTLP/HTTP is application/x-protobuf or application/json"
    )]
    MediaType(String),
    /// A `Content-Encoding` other than `gzip` or `identity`.
    #[error("unsupported Content-Encoding `{0}`: gzip or identity")]
    Encoding(String),
    /// Larger than the bound, as sent or once decompressed.
    #[error("the request is larger than {limit} bytes{}", if *.decompressed { " once decompressed" } else { "" })]
    TooLarge {
        /// The bound.
        limit: usize,
        /// Whether the decompressed body passed it.
        decompressed: bool,
    },
    /// Not gzip.
    #[error("the body is not valid gzip: {0}")]
    Gzip(String),
    /// Not an `ExportTraceServiceRequest`.
    #[error("the body is not an OTLP trace request: {0}")]
    Message(String),
}

/// The body's media type, from a `Content-Type` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/json`.
    Json,
}

impl Media {
    /// The media type a `Content-Type` value names (parameters such as
    /// `charset` are ignored).
    pub fn from_content_type(value: &str) -> Result<Media, DecodeError> {
        let essence = value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Media::Protobuf),
            "application/json" => Ok(Media::Json),
            _ => Err(DecodeError::MediaType(value.to_owned())),
        }
    }

    /// The `Content-Type` of a response in this media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Media::Protobuf => "application/x-protobuf",
            Media::Json => "application/json",
        }
    }
}

/// Decodes a trace request `body` sent as `media` with `encoding` (the
/// `Content-Encoding` header, if any). `limit` bounds the decompressed
/// size too, so a small gzip bomb is refused after `limit` bytes, not
/// inflated.
pub fn traces(
    body: &[u8],
    media: Media,
    encoding: Option<&str>,
    limit: usize,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    if body.len() > limit {
        return Err(DecodeError::TooLarge {
            limit,
            decompressed: false,
        });
    }
    let inflated;
    let bytes = match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("identity") => body,
        Some("gzip") => {
            inflated = gunzip(body, limit)?;
            &inflated[..]
        }
        Some(_) => {
            return Err(DecodeError::Encoding(
                encoding.unwrap_or_default().to_owned(),
            ));
        }
    };
    match media {
        Media::Protobuf => ExportTraceServiceRequest::decode(bytes)
            .map_err(|e| DecodeError::Message(e.to_string())),
        Media::Json => {
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Message(e.to_string()))
        }
    }
}

/// Inflates at most `limit` bytes of gzip.
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(DecodeError::TooLarge {
            limit,
            decompressed: true,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn media_types_are_read_from_content_type_headers() {
        assert_eq!(
            Media::from_content_type("application/x-protobuf"),
            Ok(Media::Protobuf)
        );
        assert_eq!(
            Media::from_content_type("Application/JSON; charset=utf-8"),
            Ok(Media::Json)
        );
        assert!(matches!(
            Media::from_content_type("text/plain"),
            Err(DecodeError::MediaType(_))
        ));
    }

    #[test]
    fn protobuf_and_json_gzipped_or_not_decode_to_the_same_request() {
        let json = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bot"}}]},
            "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
            "name":"chat","startTimeUnixNano":"1000000","endTimeUnixNano":"251000000",
            "attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}}]}]}]}]}"#;
        let from_json = traces(json.as_bytes(), Media::Json, None, 1 << 20).unwrap();
        let span = &from_json.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            hex::encode(&span.trace_id),
            "5b8efff798038103d269b633813fc60c"
        );
        assert_eq!(span.end_time_unix_nano, 251_000_000);
        let proto = from_json.encode_to_vec();
        assert_eq!(
            traces(&proto, Media::Protobuf, None, 1 << 20).unwrap(),
            from_json
        );
        assert_eq!(
            traces(&gzip(&proto), Media::Protobuf, Some("gzip"), 1 << 20).unwrap(),
            from_json
        );
        assert_eq!(
            traces(&gzip(json.as_bytes()), Media::Json, Some("GZIP"), 1 << 20).unwrap(),
            from_json
        );
    }

    #[test]
    fn bombs_garbage_and_unknown_encodings_are_refused() {
        let bomb = gzip(&vec![b' '; 10 << 20]);
        assert!(bomb.len() < 64 << 10);
        assert_eq!(
            traces(&bomb, Media::Json, Some("gzip"), 1 << 20),
            Err(DecodeError::TooLarge {
                limit: 1 << 20,
                decompressed: true
            })
        );
        assert!(matches!(
            traces(&[0u8; 10], Media::Protobuf, Some("br"), 1 << 20),
            Err(DecodeError::Encoding(_))
        ));
        assert!(matches!(
            traces(b"not gzip", Media::Json, Some("gzip"), 1 << 20),
            Err(DecodeError::Gzip(_))
        ));
        assert!(matches!(
            traces(b"{\"resourceSpans\": 3}", Media::Json, None, 1 << 20),
            Err(DecodeError::Message(_))
        ));
        assert!(matches!(
            traces(&[0xff; 8], Media::Protobuf, None, 1 << 20),
            Err(DecodeError::Message(_))
        ));
        assert_eq!(
            traces(&[0; 11], Media::Protobuf, None, 10),
            Err(DecodeError::TooLarge {
                limit: 10,
                decompressed: false
            })
        );
    }
}
