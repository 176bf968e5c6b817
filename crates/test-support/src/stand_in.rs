//! A CertCentral stand-in of a few lines: a loopback HTTP/1.1 server that
//! answers each request from a function of its request line, one
//! connection at a time, for tests that need answers the simulator does
//! not give (a fixed report, a report that never ends). The same server,
//! reading request bodies, is the [`Webhook`](crate::Webhook) receiver.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

/// CertCentral's answer to a path it does not have.
pub const NOT_FOUND: (&str, &str) = (
    "404 Not Found",
    "{\"errors\":[{\"code\":\"not_found\",\"message\":\"no\"}]}",
);

/// Serves `answer(request_line) -> (status line, body)` on a free port,
/// `Connection: close`; returns its base URL (`http://127.0.0.1:PORT`).
/// The serving thread ends with the test process.
pub fn stand_in(mut answer: impl FnMut(&str) -> (&'static str, String) + Send + 'static) -> String {
    serve(move |request, _body| answer(request))
}

/// The number in `name=` of a request line's query (`offset`, `limit`), 0
/// when it has none.
pub fn query(request: &str, name: &str) -> usize {
    request
        .split(['?', '&', ' '])
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Serves `answer(request_line, body)` on a free loopback port, one
/// connection at a time, `Connection: close`; its base URL.
pub(crate) fn serve(
    mut answer: impl FnMut(&str, Vec<u8>) -> (&'static str, String) + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(read) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(read);
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                body.clear();
            }
            let (status, body) = answer(request.trim_end(), body);
            let head = format!(
                "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    base
}
