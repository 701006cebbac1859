//! `shengshi bench verify` (issue 8's performance goal): online verifications
//! per second through the real HTTP endpoint, with the single-use claim and
//! the durable access log on, against raw strict Ed25519 verifications per
//! second on one core measured in the same run (limit: at least 0.50).
//!
//! It starts the whole application in-process on a fresh embedded SQLite
//! database (WAL, `synchronous=FULL`: every acknowledged write survives power
//! loss) with the demo data, opens accounts for demo residents and activates
//! their cards (through the registry and the door, as a resident does),
//! registers a hotel, mints hotel_checkin codes through the door, then sends
//! each code once to `POST /api/v1/verifier/verifications` from `clients`
//! keep-alive connections at once. Times are measured at the client on
//! loopback. The accounts are written straight to the store (registration's
//! phone and carrier steps are not what is measured here).
//!
//! fsyncs: every durable commit on the verification path is counted: the
//! access log's batches, each of which also settles its verifications'
//! single-use claims (with the access log off, `bench audit`, the batches of
//! claims alone). Under SQLite WAL with `synchronous=FULL`, one commit is one fsync of the WAL
//! file; a checkpoint (SQLite's automatic one, every 10,000 WAL pages) adds one
//! fsync of the WAL and one of the database file. docs/benchmarks.md records
//! a cross-check with strace.

use anyhow::{bail, Context, Result};
use shengshi_app::registration::{id_number_mac, Profile, PROFILE_CONTEXT};
use shengshi_app::verifiers::{self, NewVerifier, RateLimits};
use shengshi_domain::security::Actor;
use shengshi_domain::{PhoneNumber, SystemClock};
use shengshi_eid::{Purpose, VerifierCategory};
use shengshi_envelope::{DataKey, KeyRef};
use shengshi_store::{StoredAccount, StoredDataKey};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Config;
use crate::startup::{Application, BenchSetup};

/// Issue 8: online verifications/s at least this fraction of raw strict
/// signature verifications/s on one core.
pub const RATIO_LIMIT: f64 = 0.50;
/// Codes a resident may have minted per minute (`app::eid`).
const CODES_PER_RESIDENT: usize = 12;
/// Verifications before the measured ones (connections, caches).
const WARM_UP: usize = 50;
/// Set-up tasks in flight at once (enough to fill batches, few enough that
/// none waits long for the one writer).
const SETUP_TASKS: usize = 64;

#[derive(clap::Args, Debug, Clone)]
pub struct VerifyBenchArgs {
    /// Concurrent clients (keep-alive connections). The default is where
    /// this two-core machine's throughput peaks (docs/benchmarks.md).
    #[arg(long, default_value_t = 128)]
    pub clients: usize,
    /// Measured verifications (each a fresh code, verified once).
    #[arg(long, default_value_t = 20000)]
    pub requests: usize,
    /// How long to measure raw Ed25519 verification, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub raw_ms: u64,
}

impl VerifyBenchArgs {
    pub(crate) fn check(&self) -> Result<()> {
        if self.clients == 0 || self.requests < self.clients {
            bail!("--requests must be at least --clients, and --clients at least 1");
        }
        Ok(())
    }
}

/// One storm of verifications.
#[derive(Debug, Clone)]
pub struct Storm {
    pub verifications: usize,
    pub elapsed: Duration,
    pub p50: Duration,
    pub p99: Duration,
    /// Durable transactions on the verification path during the storm: the
    /// access log's batches, each holding its verifications' claims (with the
    /// log off: the batches of claims alone).
    pub commits: u64,
    /// Access-log entries appended during the storm (none with the log off).
    pub logged: u64,
    /// When the measured verifications began and ended (to match a trace).
    pub window: (time::OffsetDateTime, time::OffsetDateTime),
}

impl Storm {
    pub fn per_second(&self) -> f64 {
        self.verifications as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Durable commits (fsyncs of the WAL) per verification.
    pub fn commits_per_verification(&self) -> f64 {
        self.commits as f64 / self.verifications.max(1) as f64
    }
}

/// A throw-away demo installation in a temporary directory, on the embedded
/// database whatever the environment names.
pub(crate) struct BenchInstallation {
    pub config: Config,
    data_dir: PathBuf,
    /// Set up by the first storm: residents with active cards and the hotel's key.
    prepared: Option<(Vec<StoredAccount>, String)>,
}

impl BenchInstallation {
    pub(crate) fn create(config_file: Option<PathBuf>, name: &str) -> Result<Self> {
        let (config, data_dir) = crate::bench_web::temporary_demo_config(config_file, name)?;
        Ok(Self {
            config,
            data_dir,
            prepared: None,
        })
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Starts the application (access log on or off), mints `requests +
    /// WARM_UP` fresh codes, verifies each once over HTTP and stops.
    pub(crate) async fn storm(
        &mut self,
        access_log_off: bool,
        clients: usize,
        requests: usize,
    ) -> Result<Storm> {
        let setup = BenchSetup {
            // One key carries the whole load.
            verifier_limits: Some(RateLimits {
                burst: u32::MAX / 2,
                per_second: u32::MAX / 2,
            }),
            access_log_off,
        };
        let app =
            Application::build_for_benchmark(&self.config, Arc::new(SystemClock), setup).await?;
        let codes = requests + WARM_UP;
        let residents = codes.div_ceil(CODES_PER_RESIDENT);
        if self.prepared.is_none() {
            self.prepared = Some(prepare(&app, residents).await?);
        }
        let (accounts, api_key) = self.prepared.clone().context("prepared")?;
        let texts = mint(&app, &accounts, codes).await?;

        let port = app.port();
        let services = app.services().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        let counts = move || {
            let log = &services.access_log;
            (log.commits(), log.entries_logged())
        };
        let measured = tokio::task::spawn_blocking(move || {
            verify_all(port, &api_key, &texts, clients, counts)
        })
        .await?;
        let _ = stop.send(());
        server.await??;
        measured
    }
}

impl Drop for BenchInstallation {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Opens accounts for `count` living demo residents, activates their cards
/// and registers a hotel; returns the accounts and the hotel's API key.
async fn prepare(app: &Application, count: usize) -> Result<(Vec<StoredAccount>, String)> {
    let services = app.services();
    let identity = app.identity();
    let today = services.clock.today();
    let people: Vec<_> = crate::demo::residents(today)
        .into_iter()
        .filter(|p| p.life_status == shengshi_app::registry::LifeStatus::Alive)
        .take(count)
        .collect();
    if people.len() < count {
        bail!(
            "the demo has {} living residents; ask for fewer codes",
            people.len()
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut accounts = Vec::with_capacity(count);
    for (i, person) in people.into_iter().enumerate() {
        if tasks.len() >= SETUP_TASKS {
            if let Some(done) = tasks.join_next().await {
                accounts.push(done??);
            }
        }
        let services = services.clone();
        let identity = identity.clone();
        tasks.spawn(async move {
            let phone = PhoneNumber::parse(&format!("139{:08}", 10_000_000 + i))
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let profile = Profile {
                name: person.name.as_str().to_owned(),
                id_number: person.id_number.as_str().to_owned(),
                phone: phone.as_str().to_owned(),
            };
            let now = services.clock.now();
            let subject = shengshi_domain::SubjectId::new();
            let key_id = uuid::Uuid::now_v7();
            let key = DataKey::generate(KeyRef(*key_id.as_bytes()), services.envelope_algorithm);
            let plain = zeroize::Zeroizing::new(serde_json::to_vec(&profile)?);
            let account = StoredAccount {
                id: shengshi_domain::AccountId::new(),
                subject,
                assurance_level: 2,
                id_number_mac: Some(id_number_mac(&identity.secrets, &person.id_number)),
                phone_mac: shengshi_app::phone_codes::phone_mac(&identity.secrets, &phone),
                sealed_profile: key.seal(&plain, PROFILE_CONTEXT).into_bytes(),
                status: "active".to_owned(),
                in_person_verified_at: None,
                created_at: now,
                updated_at: now,
            };
            let stored_key = StoredDataKey {
                subject,
                key_id,
                algorithm: key.algorithm().name().to_owned(),
                kek_id: services.kek.id().to_owned(),
                wrapped_key: Some(key.wrap(services.kek.as_ref()).await?),
                created_at: now,
                destroyed_at: None,
            };
            services.store.create_account(&account, &stored_key).await?;
            shengshi_app::eid::activate(
                &services,
                &identity.eid,
                identity.registry.as_ref(),
                &account,
            )
            .await
            .map_err(|e| anyhow::anyhow!("activating a card: {e}"))?;
            anyhow::Ok(account)
        });
    }
    while let Some(done) = tasks.join_next().await {
        accounts.push(done??);
    }
    let issued = verifiers::register(
        services,
        &identity.secrets,
        Actor::Operator,
        NewVerifier {
            name: "基准测试酒店 (benchmark hotel)".to_owned(),
            category: VerifierCategory::Hotel,
            purposes: vec![Purpose::HotelCheckin],
        },
    )
    .await?;
    let key = secrecy::ExposeSecret::expose_secret(&issued.key).to_owned();
    Ok((accounts, key))
}

/// Mints `count` hotel_checkin codes, each through the door, spread over the
/// residents within their per-minute allowance.
async fn mint(app: &Application, accounts: &[StoredAccount], count: usize) -> Result<Vec<String>> {
    let services = app.services();
    let issuer = app.identity().eid.clone();
    let mut tasks = tokio::task::JoinSet::new();
    let mut texts = Vec::with_capacity(count);
    for i in 0..count {
        if tasks.len() >= SETUP_TASKS {
            if let Some(done) = tasks.join_next().await {
                texts.push(done??);
            }
        }
        let services = services.clone();
        let issuer = issuer.clone();
        let account = accounts[i % accounts.len()].clone();
        tasks.spawn(async move {
            let code = shengshi_app::eid::present(
                &services,
                &issuer,
                &account,
                Purpose::HotelCheckin,
                VerifierCategory::Hotel,
            )
            .await
            .map_err(|e| anyhow::anyhow!("minting a code: {e}"))?;
            anyhow::Ok(code.text)
        });
    }
    while let Some(done) = tasks.join_next().await {
        texts.push(done??);
    }
    Ok(texts)
}

/// Verifies the first `WARM_UP` codes on one connection, then the rest from
/// `clients` connections at once, each code once; every answer must be 200.
///
/// The clients are tasks of one thread with its own event loop (as a load
/// generator such as wrk runs), not a thread each: on a two-core machine
/// that the server shares with its load, 64 client threads would spend the
/// server's cores on their own scheduling.
fn verify_all(
    port: u16,
    api_key: &str,
    texts: &[String],
    clients: usize,
    counts: impl Fn() -> (u64, u64) + Send + Sync,
) -> Result<Storm> {
    // On a thread of its own: this one (a blocking task of the server's
    // runtime) may not start another runtime.
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?
                    .block_on(storm_from_one_thread(
                        port, api_key, texts, clients, &counts,
                    ))
            })
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the client thread panicked")))
    })
}

async fn storm_from_one_thread(
    port: u16,
    api_key: &str,
    texts: &[String],
    clients: usize,
    counts: &(impl Fn() -> (u64, u64) + Sync),
) -> Result<Storm> {
    let requests: Vec<Vec<u8>> = texts.iter().map(|t| request_bytes(api_key, t)).collect();
    let (warm, measured) = requests.split_at(WARM_UP.min(requests.len()));
    let mut client = Client::connect(port).await?;
    for request in warm {
        client.send(request).await?;
    }
    let mut connections = Vec::with_capacity(clients);
    for _ in 0..clients {
        connections.push(Client::connect(port).await?);
    }
    let next = AtomicUsize::new(0);
    let (commits_before, logged_before) = counts();
    let started_at = time::OffsetDateTime::now_utc();
    let started = Instant::now();
    let results = futures_util::future::join_all(connections.into_iter().map(|mut client| {
        let next = &next;
        async move {
            let mut times = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = measured.get(i) else {
                    return anyhow::Ok(times);
                };
                let t = Instant::now();
                client.send(request).await?;
                times.push(t.elapsed());
            }
        }
    }))
    .await;
    let elapsed = started.elapsed();
    let ended_at = time::OffsetDateTime::now_utc();
    let (commits_after, logged_after) = counts();
    let mut times = Vec::with_capacity(measured.len());
    for r in results {
        times.extend(r?);
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    Ok(Storm {
        verifications: times.len(),
        elapsed,
        p50: at(0.50),
        p99: at(0.99),
        commits: commits_after - commits_before,
        logged: logged_after - logged_before,
        window: (started_at, ended_at),
    })
}

/// Raw strict Ed25519 verifications per second on one core (the fastest
/// ~0.5 ms batch; other load only slows a batch down).
pub(crate) async fn raw_per_second(ms: u64) -> Result<f64> {
    tokio::task::spawn_blocking(move || {
        shengshi_eid::bench::raw_eddsa_per_second(Duration::from_millis(ms))
            .map_err(anyhow::Error::msg)
    })
    .await?
}

/// `HH:MM:SS.micros`, as `strace -tt` prints times (in UTC).
pub(crate) fn clock_time(t: time::OffsetDateTime) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:06}",
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn machine_notes() -> String {
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    format!(
        "{} build, {} cores, load average {load} at the end",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    )
}

/// The result of `shengshi bench verify`.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub raw_per_second: f64,
    pub storm: Storm,
    pub ratio: f64,
    pub passed: bool,
}

/// Runs the benchmark and returns its report (the CLI prints it).
pub async fn measure(config_file: Option<PathBuf>, args: &VerifyBenchArgs) -> Result<VerifyReport> {
    args.check()?;
    let mut installation = BenchInstallation::create(config_file, "verify")?;
    let raw_before = raw_per_second(args.raw_ms).await?;
    let storm = installation
        .storm(false, args.clients, args.requests)
        .await
        .with_context(|| format!("the storm in {}", installation.data_dir().display()))?;
    let raw_after = raw_per_second(args.raw_ms).await?;
    let raw = raw_before.max(raw_after);
    let ratio = storm.per_second() / raw;
    Ok(VerifyReport {
        raw_per_second: raw,
        ratio,
        passed: ratio >= RATIO_LIMIT,
        storm,
    })
}

pub async fn run(config_file: Option<PathBuf>, args: VerifyBenchArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; build with --release for meaningful numbers");
    }
    // One log line per request would measure the terminal.
    crate::telemetry::init(crate::config::LogFormat::Text, "warn");
    let report = measure(config_file, &args).await?;
    let s = &report.storm;
    println!(
        "shengshi bench verify: {} online verifications of fresh hotel_checkin codes over HTTP, {} clients ({})",
        s.verifications,
        args.clients,
        machine_notes()
    );
    println!("  single-use claim and durable access log on (SQLite WAL, synchronous=FULL)");
    println!(
        "  online verifications/s:          {:>10.0}",
        s.per_second()
    );
    println!(
        "  raw Ed25519 verify_strict/s, one core: {:>4.0}",
        report.raw_per_second
    );
    println!(
        "  ratio: {:.3} (limit {RATIO_LIMIT:.2}): {}",
        report.ratio,
        if report.passed { "PASS" } else { "FAIL" }
    );
    println!("  latency p50 {:.2} ms, p99 {:.2} ms", ms(s.p50), ms(s.p99));
    println!(
        "  durable commits: {} access-log batches (each with its verifications' claims) for {} entries logged = {:.3} per verification",
        s.commits,
        s.logged,
        s.commits_per_verification()
    );
    println!(
        "  fsyncs per verification: {:.3} (one commit = one fsync of the SQLite WAL; a WAL checkpoint, every 10,000 pages, adds two)",
        s.commits_per_verification()
    );
    println!(
        "  measured from {} to {} UTC",
        clock_time(s.window.0),
        clock_time(s.window.1)
    );
    if !report.passed {
        bail!(
            "FAIL: {:.0} online verifications/s is {:.3} of raw signature verification on one core; the limit is {RATIO_LIMIT:.2}",
            s.per_second(),
            report.ratio
        );
    }
    Ok(())
}

/// The HTTP request verifying `code`, built before the storm (as a load
/// generator prepares its requests), sent in one write.
fn request_bytes(api_key: &str, code: &str) -> Vec<u8> {
    let body = serde_json::json!({ "code": code }).to_string();
    format!(
        "POST /api/v1/verifier/verifications HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {api_key}\r\nAccept: application/json\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A minimal HTTP/1.1 keep-alive client for the verification endpoint
/// (loopback only; one request at a time per connection).
struct Client {
    stream: TcpStream,
    /// Bytes read and not yet consumed.
    buffer: Vec<u8>,
}

impl Client {
    async fn connect(port: u16) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// Sends a request; anything but a 200 answer is an error naming it.
    async fn send(&mut self, request: &[u8]) -> Result<()> {
        let (status, body) = tokio::time::timeout(Duration::from_secs(30), async {
            self.stream.write_all(request).await?;
            self.read_response().await
        })
        .await
        .context("no answer within 30 s")??;
        if status != 200 {
            bail!(
                "a verification answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        Ok(())
    }

    async fn read_more(&mut self) -> Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        self.buffer.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Reads one response: its status and body (by its Content-Length).
    async fn read_response(&mut self) -> Result<(u16, Vec<u8>)> {
        let head_end = loop {
            if let Some(at) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.read_more().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..head_end]).context("a non-UTF-8 head")?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP status line: {status_line:?}"))?;
        let mut length = 0usize;
        for line in lines {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim().eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().context("a bad content-length")?;
                }
            }
        }
        while self.buffer.len() < head_end + length {
            self.read_more().await?;
        }
        let body = self.buffer[head_end..head_end + length].to_vec();
        self.buffer.drain(..head_end + length);
        Ok((status, body))
    }
}
