//! `shengshi bench web`: how long the server takes to answer the citizen pages
//! under a small, bounded local load, beside a minimal handler measured in the
//! same run (issue 9's performance goal: p99 < 10 ms and < 100 KB per page).
//!
//! It starts the whole application in-process on a fresh embedded database with
//! the demo data, registers and logs in a demo resident through the JSON API
//! (reading the codes from the demo outbox, as a newcomer does), then sends
//! the same number of requests to each target from `clients` keep-alive
//! connections at once. Times are measured at the client on loopback, from
//! the first byte written to the last byte read, so they include the server's
//! whole answer (and a little client overhead, which the minimal handler shows).
//! A benchmark, not a test: it prints PASS/FAIL and never asserts.

use anyhow::{bail, Context, Result};
use shengshi_domain::SystemClock;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, Overrides};
use crate::startup::Application;

/// Limits from issue 9.
const P99_LIMIT: Duration = Duration::from_millis(10);
const SIZE_LIMIT: usize = 100 * 1024;

#[derive(clap::Args, Debug)]
pub struct WebBenchArgs {
    /// Concurrent clients (keep-alive connections).
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Requests per target, spread over the clients.
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    /// Append the result, as Markdown, to this file (e.g. docs/benchmarks.md).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
}

/// What is measured: the minimal handler first (the baseline), then the pages
/// (name, path, needs the session). The e-ID card page is measured when the
/// build has one (a page that does not answer 200 is listed as skipped).
const TARGETS: [(&str, &str, bool); 5] = [
    ("minimal handler (/healthz)", "/healthz", false),
    ("home (/)", "/", false),
    ("profile (/account)", "/account", true),
    (
        "access log (/account/access-log)",
        "/account/access-log",
        true,
    ),
    ("e-ID card (/card)", "/card", true),
];

struct Measured {
    name: &'static str,
    /// The status when it was not 200 (then nothing was measured).
    skipped: Option<u16>,
    p50: Duration,
    p99: Duration,
    bytes: usize,
    limited: bool,
}

/// The configuration of a fresh demonstration installation in a new
/// temporary directory (`shengshi-bench-{name}-…`) on the embedded database,
/// whatever the environment names, listening on a free local port.
pub(crate) fn temporary_demo_config(
    config_file: Option<PathBuf>,
    name: &str,
) -> Result<(Config, PathBuf)> {
    let data_dir = std::env::temp_dir().join(format!(
        "shengshi-bench-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k != "SHENGSHI_DATABASE_URL")
        .collect();
    let overrides = Overrides {
        config_file,
        listen: Some("127.0.0.1:0".to_owned()),
        data_dir: Some(data_dir.clone()),
        database_url: None,
        demo: true,
    };
    let (config, _) = Config::load(&env, &overrides)?;
    Ok((config, data_dir))
}

pub async fn run(config_file: Option<PathBuf>, args: WebBenchArgs) -> Result<()> {
    if args.clients == 0 || args.requests < args.clients {
        bail!("--requests must be at least --clients, and --clients at least 1");
    }
    let (config, data_dir) = temporary_demo_config(config_file, "web")?;
    // One log line per request would measure the terminal.
    crate::telemetry::init(config.log_format, "warn");
    let result = bench(&config, &args).await;
    let _ = std::fs::remove_dir_all(&data_dir);
    let (report, all_pass) = result?;
    print!("{report}");
    if let Some(path) = &args.record {
        let header = (!path.exists()).then_some(
            "# Benchmarks\n\nResults of the `shengshi bench` commands, newest last; each quotes its command.\n",
        );
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot append to {}", path.display()))?;
        if let Some(header) = header {
            file.write_all(header.as_bytes())?;
        }
        file.write_all(report.as_bytes())?;
        println!("appended to {}", path.display());
    }
    if !all_pass {
        println!("(a benchmark: FAIL is reported, not an error)");
    }
    Ok(())
}

async fn bench(config: &Config, args: &WebBenchArgs) -> Result<(String, bool)> {
    let app = Application::build(config, Arc::new(SystemClock)).await?;
    let port = app.port();
    let resident = app
        .demo_summary()
        .and_then(|s| s.examples.first().cloned())
        .context("the demo names no resident")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run(async {
        let _ = stopped.await;
    }));

    let clients = args.clients;
    let requests = args.requests;
    let measured = tokio::task::spawn_blocking(move || -> Result<Vec<Measured>> {
        let sid = log_in(port, &resident.0, &resident.1)?;
        TARGETS
            .iter()
            .map(|&(name, path, needs_session)| {
                let cookie = needs_session.then_some(sid.as_str());
                measure(port, name, path, cookie, clients, requests)
            })
            .collect()
    })
    .await?;
    let _ = stop.send(());
    server.await??;
    let measured = measured?;

    let baseline = measured[0].p99;
    let mut out = String::new();
    let now = time::OffsetDateTime::now_utc();
    out.push_str(&format!(
        "\n## `shengshi bench web` — {}-{:02}-{:02} {:02}:{:02} UTC\n\n",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    ));
    out.push_str(&format!(
        "Command: `shengshi bench web --clients {clients} --requests {requests}` ({} build, {} cores; \
         in-process server on the embedded database with the demo data, one logged-in demo resident). \
         Limits: p99 < {} ms and < {} KB per page.\n\n",
        if cfg!(debug_assertions) { "debug" } else { "release" },
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        P99_LIMIT.as_millis(),
        SIZE_LIMIT / 1024,
    ));
    out.push_str("| target | p50 | p99 | p99 ÷ minimal handler's | transferred | result |\n");
    out.push_str("|---|---:|---:|---:|---:|---|\n");
    let mut all_pass = true;
    for m in &measured {
        if let Some(status) = m.skipped {
            out.push_str(&format!(
                "| {} | – | – | – | – | skipped (answered {status}) |\n",
                m.name
            ));
            continue;
        }
        let pass = m.p99 < P99_LIMIT && m.bytes < SIZE_LIMIT;
        let verdict = if !m.limited {
            "baseline"
        } else if pass {
            "PASS"
        } else {
            all_pass = false;
            "FAIL"
        };
        out.push_str(&format!(
            "| {} | {:.2} ms | {:.2} ms | {:.1} | {:.1} KB | {verdict} |\n",
            m.name,
            ms(m.p50),
            ms(m.p99),
            m.p99.as_secs_f64() / baseline.as_secs_f64().max(1e-9),
            m.bytes as f64 / 1024.0,
        ));
    }
    Ok((out, all_pass))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Sends `requests` GETs for `path` from `clients` connections at once.
fn measure(
    port: u16,
    name: &'static str,
    path: &'static str,
    cookie: Option<&str>,
    clients: usize,
    requests: usize,
) -> Result<Measured> {
    // Warm up: connections, caches, the session's touch.
    let mut warm = Client::connect(port)?;
    let first = warm.get(path, cookie)?.status;
    if first != 200 {
        return Ok(Measured {
            name,
            skipped: Some(first),
            p50: Duration::ZERO,
            p99: Duration::ZERO,
            bytes: 0,
            limited: true,
        });
    }
    for _ in 0..50 {
        warm.get(path, cookie)?;
    }
    let per_client = requests / clients;
    let results: Vec<Result<(Vec<Duration>, usize)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(move || -> Result<(Vec<Duration>, usize)> {
                    let mut client = Client::connect(port)?;
                    let mut times = Vec::with_capacity(per_client);
                    let mut bytes = 0;
                    for _ in 0..per_client {
                        let started = Instant::now();
                        let response = client.get(path, cookie)?;
                        times.push(started.elapsed());
                        if response.status != 200 {
                            bail!("{path} answered {}", response.status);
                        }
                        bytes = response.transferred;
                    }
                    Ok((times, bytes))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a client panicked")))
            })
            .collect()
    });
    let mut times = Vec::with_capacity(requests);
    let mut bytes = 0;
    for r in results {
        let (t, b) = r?;
        times.extend(t);
        bytes = bytes.max(b);
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    Ok(Measured {
        name,
        skipped: None,
        p50: at(0.50),
        p99: at(0.99),
        bytes,
        limited: path != "/healthz",
    })
}

/// Registers the demo resident with a phone number and logs in, through the
/// JSON API and the demo outbox; returns the `sid` cookie's value.
fn log_in(port: u16, name: &str, id_number: &str) -> Result<String> {
    let phone = "13912349999";
    let mut c = Client::connect(port)?;
    let post = |c: &mut Client, path: &str, body: serde_json::Value| -> Result<Response> {
        c.request("POST", path, None, Some(&body.to_string()))
    };
    let expect = |r: &Response, status: u16, what: &str| -> Result<()> {
        if r.status != status {
            bail!("{what}: {} {}", r.status, String::from_utf8_lossy(&r.body));
        }
        Ok(())
    };
    let r = post(
        &mut c,
        "/api/v1/registration/codes",
        serde_json::json!({ "phone": phone }),
    )?;
    expect(&r, 202, "registration code")?;
    let code = code_from_outbox(&mut c, phone)?;
    let r = post(
        &mut c,
        "/api/v1/registration/phone-proofs",
        serde_json::json!({ "phone": phone, "code": code }),
    )?;
    expect(&r, 201, "phone proof")?;
    let proof: serde_json::Value = serde_json::from_slice(&r.body)?;
    let r = post(
        &mut c,
        "/api/v1/registrations",
        serde_json::json!({ "proof": proof["proof"], "name": name, "id_number": id_number }),
    )?;
    expect(&r, 202, "registration")?;
    let r = post(
        &mut c,
        "/api/v1/login/codes",
        serde_json::json!({ "phone": phone }),
    )?;
    expect(&r, 202, "login code")?;
    let code = code_from_outbox(&mut c, phone)?;
    let r = post(
        &mut c,
        "/api/v1/sessions",
        serde_json::json!({ "phone": phone, "code": code }),
    )?;
    if !(200..300).contains(&r.status) {
        bail!("login: {} {}", r.status, String::from_utf8_lossy(&r.body));
    }
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix("sid=")?.split(';').next().map(str::to_owned))
        .filter(|v| !v.is_empty())
        .context("the login set no sid cookie")
}

/// The newest code the demo outbox shows for `phone`.
fn code_from_outbox(c: &mut Client, phone: &str) -> Result<String> {
    let page = c.get("/demo/sms", None)?;
    let html = String::from_utf8_lossy(&page.body);
    html.split("<tr>")
        .filter(|row| row.contains(phone))
        .find_map(|row| {
            ["验证码是", "code is"].iter().find_map(|marker| {
                let rest = row.split_once(marker)?.1.trim_start();
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                (digits.len() == 6).then_some(digits)
            })
        })
        .context("no code in the demo outbox")
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Status line, headers and body as they came over the wire.
    transferred: usize,
}

/// A minimal HTTP/1.1 keep-alive client (blocking, loopback only).
struct Client {
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(port: u16) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Self {
            reader: BufReader::new(stream),
        })
    }

    fn get(&mut self, path: &str, sid: Option<&str>) -> Result<Response> {
        self.request("GET", path, sid, None)
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        sid: Option<&str>,
        json: Option<&str>,
    ) -> Result<Response> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html,application/json\r\nAccept-Encoding: identity\r\n"
        );
        if let Some(sid) = sid {
            head.push_str(&format!("Cookie: sid={sid}\r\n"));
        }
        if let Some(body) = json {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        if let Some(body) = json {
            stream.write_all(body.as_bytes())?;
        }
        stream.flush()?;

        let mut transferred = 0;
        let mut line = String::new();
        transferred += self.reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP status line: {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            let n = self.reader.read_line(&mut line)?;
            if n == 0 {
                bail!("the connection closed inside the headers");
            }
            transferred += n;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((k, v)) = trimmed.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut body = Vec::new();
        if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                line.clear();
                transferred += self.reader.read_line(&mut line)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .context("a bad chunk size")?;
                let mut chunk = vec![0; size + 2];
                self.reader.read_exact(&mut chunk)?;
                transferred += chunk.len();
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        } else {
            let length: usize = header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            body.resize(length, 0);
            self.reader.read_exact(&mut body)?;
            transferred += length;
        }
        Ok(Response {
            status,
            headers,
            body,
            transferred,
        })
    }
}
