//! A CertCentral stand-in of a few lines: a loopback HTTP/1.1 server that
//! answers each request from a function of its request line, one
//! connection at a time, for tests that need answers the simulator does
//! not give (a fixed report, a report that never ends).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

/// Serves `answer(request_line) -> (status line, body)` on a free port,
/// `Connection: close`; returns its base URL (`http://127.0.0.1:PORT`).
/// The serving thread ends with the test process.
pub fn stand_in(mut answer: impl FnMut(&str) -> (&'static str, String) + Send + 'static) -> String {
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
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let (status, body) = answer(request.trim_end());
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
