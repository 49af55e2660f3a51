//! The hidden `quorum bench-http-put`: the closed-loop load of `quorum bench` against an HTTP
//! key-value store — etcd's JSON gateway — for the side-by-side in bench/etcd.sh. Exit codes: 0
//! done, 1 a request failed, 2 bad input.

use super::bench::{closed_loop, rate_p50_p99};
use super::{failed, usage};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

/// `quorum bench-http-put` (hidden): the same closed-loop load against an HTTP key-value store —
/// etcd's JSON gateway, `POST /v3/kv/put` — over HTTP/1.1 keep-alive connections, one per
/// client, for the side-by-side in bench/etcd.sh.
#[derive(Args)]
pub struct HttpPutArgs {
    /// host:port of the HTTP endpoint (etcd: a member's client URL, without http://)
    #[arg(long)]
    addr: String,
    /// Concurrent closed-loop clients, each on its own keep-alive connection
    #[arg(long, default_value_t = 1)]
    clients: usize,
    /// Puts in total
    #[arg(long, default_value_t = 1000)]
    writes: usize,
    /// Bytes per written value
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// The request path
    #[arg(long, default_value = "/v3/kv/put")]
    path: String,
    /// Also print the result as one JSON object on the last line
    #[arg(long)]
    json: bool,
}

pub fn bench_http_put(a: HttpPutArgs) -> ExitCode {
    if !(1..=256).contains(&a.clients) || a.writes == 0 || !(1..=1 << 20).contains(&a.value_size) {
        return usage("--clients must be 1..=256, --writes at least 1, --value-size 1..=1048576");
    }
    let addr = match a.addr.to_socket_addrs().ok().and_then(|mut i| i.next()) {
        Some(addr) => addr,
        None => return usage(format!("bad --addr '{}' (expected HOST:PORT)", a.addr)),
    };
    match run_http_put(&a, addr) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => failed(format!("{e:#}")),
    }
}

fn run_http_put(a: &HttpPutArgs, addr: SocketAddr) -> Result<()> {
    let value = base64(&vec![b'v'; a.value_size]);
    // Warm up one connection (and fail early if the server is not there).
    HttpConn::connect(addr)?.post(&a.addr, &a.path, &put_body(0, 0, &value)).context("warm-up put")?;
    let (lat, secs) = closed_loop(a.clients, a.writes, |number| {
        let mut conn = HttpConn::connect(addr)?;
        let (host, path, value) = (a.addr.clone(), a.path.clone(), value.clone());
        Ok(move |seq: usize| conn.post(&host, &path, &put_body(number, seq, &value)))
    })?;
    let (rate, p50, p99) = rate_p50_p99(&lat, secs);
    println!(
        "http put {}{}, {} closed-loop client(s) on keep-alive connections, {}-byte values: {} puts in {secs:.2} s = {rate:.0} writes/s, p50 {p50:.2} ms, p99 {p99:.2} ms",
        a.addr, a.path, a.clients, a.value_size, lat.len()
    );
    if a.json {
        let j = serde_json::json!({"system": format!("http {}", a.addr), "clients": a.clients, "writes": lat.len(),
            "value_size": a.value_size, "seconds": secs, "writes_per_s": rate, "p50_ms": p50, "p99_ms": p99});
        println!("{j}");
    }
    Ok(())
}

/// etcd's JSON gateway takes keys and values base64-encoded. One key per client.
fn put_body(client: usize, _seq: usize, value_b64: &str) -> String {
    format!(r#"{{"key":"{}","value":"{value_b64}"}}"#, base64(format!("bench-{client}").as_bytes()))
}

/// Standard base64 with padding (RFC 4648 §4), as etcd's gateway wants it.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One HTTP/1.1 keep-alive connection: a request, then its whole response (Content-Length or
/// chunked), status 200 required.
struct HttpConn {
    reader: std::io::BufReader<std::net::TcpStream>,
    writer: std::net::TcpStream,
}

impl HttpConn {
    fn connect(addr: SocketAddr) -> Result<HttpConn> {
        let s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .with_context(|| format!("cannot connect to {addr}"))?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(HttpConn { reader: std::io::BufReader::new(s.try_clone()?), writer: s })
    }

    fn post(&mut self, host: &str, path: &str, body: &str) -> Result<()> {
        use std::io::{BufRead, Read, Write};
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer.write_all(req.as_bytes()).context("send the request")?;
        let mut line = String::new();
        self.reader.read_line(&mut line).context("read the status line")?;
        let status = line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let (mut length, mut chunked) = (None, false);
        loop {
            line.clear();
            if self.reader.read_line(&mut line).context("read a header")? == 0 {
                bail!("the connection closed in the headers");
            }
            let h = line.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((name, value)) = h.split_once(':') {
                let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
                if name == "content-length" {
                    length = value.parse::<usize>().ok();
                } else if name == "transfer-encoding" && value.eq_ignore_ascii_case("chunked") {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.reader.read_line(&mut line).context("read a chunk size")?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| anyhow!("bad chunk size {line:?}"))?;
                let mut chunk = vec![0u8; size + 2];
                self.reader.read_exact(&mut chunk).context("read a chunk")?;
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.reader.read_exact(&mut body).context("read the body")?;
        } else {
            bail!("a response with neither Content-Length nor chunked encoding");
        }
        if status != "200" {
            bail!("HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (plain, coded) in cases {
            assert_eq!(super::base64(plain.as_bytes()), coded);
        }
    }
}
