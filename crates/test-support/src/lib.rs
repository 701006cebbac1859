//! Test harness shared by every integration test: fresh databases on both
//! backends, and the real server started in-process on port 0.
//!
//! PostgreSQL tests use SHENGSHI_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/test) and get a schema of their own, dropped
//! afterwards. When PostgreSQL is unreachable, tests are skipped loudly — except
//! under CI=true, where a skip is a failure.

use shengshi::config::{Config, DatabaseUrl, KmsConfig};
use shengshi::Application;
use shengshi_domain::{Clock, FixedClock, SystemClock, Timestamp};
use shengshi_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod authenticator;
mod counting;
pub mod staff;
pub use authenticator::{TestAuthenticator, TestCredential};
pub use counting::CountingStore;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn postgres_url() -> String {
    std::env::var("SHENGSHI_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A fresh, empty database for one test.
#[derive(Debug)]
pub struct TestDb {
    pub backend: Backend,
    url: String,
    dir: tempfile::TempDir,
    pg_schema: Option<String>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("shengshi.db").display());
        Self {
            backend: Backend::Sqlite,
            url,
            dir,
            pg_schema: None,
        }
    }

    /// A schema of its own in the test PostgreSQL; `None` (after a loud notice)
    /// when PostgreSQL is unreachable outside CI.
    pub async fn postgres() -> Option<Self> {
        let base = postgres_url();
        let pool = match sqlx::PgPool::connect(&base).await {
            Ok(pool) => pool,
            Err(e) if !in_ci() => {
                // Written past the test harness's capture, so the skip is seen even when the test passes.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED (PostgreSQL unreachable at {base}: {e}); start PostgreSQL or set SHENGSHI_TEST_POSTGRES_URL"
                );
                return None;
            }
            Err(e) => panic!("CI=true and PostgreSQL is unreachable at {base}: {e}"),
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&pool)
            .await
            .expect("create schema");
        pool.close().await;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{schema}");
        let dir = tempfile::tempdir().expect("temp dir");
        Some(Self {
            backend: Backend::Postgres,
            url,
            dir,
            pg_schema: Some(schema),
        })
    }

    /// Either backend by name, for tests generated per backend.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A scratch directory that lives as long as the database.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Arc<dyn Store> {
        open_store(self.backend, &self.url).await
    }

    /// Runs raw SQL beneath the store traits (to tamper, or to prove the
    /// database itself refuses something). Returns the driver's error text.
    pub async fn exec(&self, sql: &str) -> Result<u64, String> {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url)
                    .await
                    .map_err(|e| e.to_string())?;
                let result = sqlx::query(sql)
                    .execute(&pool)
                    .await
                    .map(|r| r.rows_affected());
                pool.close().await;
                result.map_err(|e| e.to_string())
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url)
                    .await
                    .map_err(|e| e.to_string())?;
                let result = sqlx::query(sql)
                    .execute(&pool)
                    .await
                    .map(|r| r.rows_affected());
                pool.close().await;
                result.map_err(|e| e.to_string())
            }
        }
    }

    /// SQLite only: another writer (as another process's would be) takes the
    /// database's write lock and holds it until released.
    pub async fn lock_sqlite_for_writing(&self) -> SqliteWriteLock {
        use sqlx::Connection;
        assert_eq!(self.backend, Backend::Sqlite, "a SQLite database");
        let mut connection = sqlx::SqliteConnection::connect(&self.url)
            .await
            .expect("another connection");
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut connection)
            .await
            .expect("the write lock");
        SqliteWriteLock(connection)
    }
}

/// A migrated store on the database at `url` (another process's view of a
/// [`TestDb`], say).
pub async fn open_store(backend: Backend, url: &str) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = match backend {
        Backend::Sqlite => Arc::new(
            shengshi_store_sqlite::SqliteStore::open(url)
                .await
                .expect("open sqlite"),
        ),
        Backend::Postgres => Arc::new(
            shengshi_store_postgres::PostgresStore::open(url)
                .await
                .expect("open postgres"),
        ),
    };
    store.migrate().await.expect("migrate");
    store
}

/// Another writer's transaction on a SQLite database, holding its write lock
/// (see [`TestDb::lock_sqlite_for_writing`]).
#[derive(Debug)]
pub struct SqliteWriteLock(sqlx::SqliteConnection);

impl SqliteWriteLock {
    /// Commits the (empty) transaction, releasing the lock.
    pub async fn release(mut self) {
        sqlx::query("COMMIT")
            .execute(&mut self.0)
            .await
            .expect("the write lock released");
    }
}

impl TestDb {
    /// Removes the access log's append-only protection, as an insider with
    /// the database (or its owner role) could, so tests can tamper with it.
    pub async fn unprotect_access_log(&self) {
        let statements: &[&str] = match self.backend {
            Backend::Sqlite => &[
                "DROP TRIGGER access_log_no_update",
                "DROP TRIGGER access_log_no_delete",
                "DROP TRIGGER access_checkpoints_only_cosign",
                "DROP TRIGGER access_checkpoints_no_delete",
            ],
            Backend::Postgres => &[
                "ALTER TABLE access_log DISABLE TRIGGER USER",
                "ALTER TABLE access_checkpoints DISABLE TRIGGER USER",
            ],
        };
        for sql in statements {
            self.exec(sql).await.expect("the protection comes off");
        }
    }

    /// Every table of the schema, from the catalog (so a table added later is
    /// covered by tests that scan them all).
    pub async fn table_names(&self) -> Result<Vec<String>, String> {
        let err = |e: sqlx::Error| e.to_string();
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.map_err(err)?;
                let names = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(&pool)
                .await
                .map_err(err);
                pool.close().await;
                names
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.map_err(err)?;
                let names = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
                )
                .fetch_all(&pool)
                .await
                .map_err(err);
                pool.close().await;
                names
            }
        }
    }

    /// A byte-string literal in this backend's SQL.
    pub fn bytes_literal(&self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match self.backend {
            Backend::Sqlite => format!("X'{hex}'"),
            Backend::Postgres => format!("decode('{hex}', 'hex')"),
        }
    }

    /// Every non-NULL value of every column of every row of `table`, as the
    /// bytes the database holds (a BLOB/BYTEA as it is, any other value as its
    /// text in UTF-8), read beneath the store traits: for tests that prove no
    /// plaintext personal data is at rest. Columns are listed from the catalog,
    /// so a column added later is covered too.
    pub async fn raw_values(&self, table: &str) -> Result<Vec<Vec<u8>>, String> {
        let err = |e: sqlx::Error| e.to_string();
        let mut hex_values: Vec<String> = Vec::new();
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.map_err(err)?;
                let columns: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                        .bind(table)
                        .fetch_all(&pool)
                        .await
                        .map_err(err)?;
                for column in columns {
                    let sql = format!(
                        "SELECT hex(\"{column}\") FROM \"{table}\" WHERE \"{column}\" IS NOT NULL"
                    );
                    hex_values.extend(
                        sqlx::query_scalar::<_, String>(&sql)
                            .fetch_all(&pool)
                            .await
                            .map_err(err)?,
                    );
                }
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.map_err(err)?;
                let columns: Vec<(String, String)> = sqlx::query_as(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1",
                )
                .bind(table)
                .fetch_all(&pool)
                .await
                .map_err(err)?;
                for (column, data_type) in columns {
                    let value = if data_type == "bytea" {
                        format!("\"{column}\"")
                    } else {
                        format!("convert_to(\"{column}\"::text, 'UTF8')")
                    };
                    let sql = format!(
                        "SELECT encode({value}, 'hex') FROM \"{table}\" WHERE \"{column}\" IS NOT NULL"
                    );
                    hex_values.extend(
                        sqlx::query_scalar::<_, String>(&sql)
                            .fetch_all(&pool)
                            .await
                            .map_err(err)?,
                    );
                }
                pool.close().await;
            }
        }
        hex_values
            .iter()
            .map(|h| {
                (0..h.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&h[i..i + 2], 16).map_err(|e| e.to_string()))
                    .collect()
            })
            .collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(schema) = self.pg_schema.take() else {
            return;
        };
        let base = postgres_url();
        // Drop runs inside a test's runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&base).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .execute(&pool)
                        .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// A running server for one test.
#[derive(Debug)]
pub struct TestApp {
    pub origin: String,
    pub client: reqwest::Client,
    pub clock: FixedClock,
    pub db: TestDb,
    pub data_dir: PathBuf,
    /// Demo installations only: how many fictional residents, and two to try.
    pub demo: Option<shengshi::demo::DemoSummary>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Options for [`spawn_app_with`].
#[derive(Debug, Default)]
pub struct AppOptions {
    pub demo: bool,
    /// Start the clock here instead of at the real time.
    pub start_at: Option<Timestamp>,
    /// Keep the key-encryption key in this KMS (for example a
    /// `shengshi_kms::FakeVaultTransit`) instead of a key file.
    pub kms: Option<KmsConfig>,
    /// Have this witness cosign the access log (`[witness]`).
    pub witness: Option<shengshi::config::WitnessConfig>,
    /// The key-encryption key file (`kek_file`); by default `kek.key` in the
    /// data directory, created on first start.
    pub kek_file: Option<PathBuf>,
    /// `previous_kek_files`: older keys kept during a rotation.
    pub previous_kek_files: Vec<PathBuf>,
    /// `previous_kms_keys`: older transit keys in the same KMS.
    pub previous_kms_keys: Vec<String>,
}

pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, AppOptions::default()).await
}

pub async fn spawn_app_with(db: TestDb, options: AppOptions) -> TestApp {
    match try_spawn_app_with(db, options).await {
        Ok(app) => app,
        Err(refused) => panic!("the server starts: {}", refused.message),
    }
}

/// A start-up that was refused: the message an operator would see, and the
/// database, to check what was (not) written.
#[derive(Debug)]
pub struct Refused {
    pub message: String,
    pub db: TestDb,
}

/// Like [`spawn_app_with`], but a refused start-up is returned, not a panic.
pub async fn try_spawn_app_with(db: TestDb, options: AppOptions) -> Result<TestApp, Refused> {
    let data_dir = db.dir().join("data");
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: data_dir.clone(),
        database_url: Some(DatabaseUrl::new(db.url().to_owned())),
        demo: options.demo,
        kms: options.kms,
        kek_file: options.kek_file,
        previous_kek_files: options.previous_kek_files,
        previous_kms_keys: options.previous_kms_keys,
        ..Config::default()
    };
    config.adapters.witness = options.witness;
    let clock = FixedClock::at(options.start_at.unwrap_or_else(|| SystemClock.now()));
    let app = match Application::build(&config, Arc::new(clock.clone())).await {
        Ok(app) => app,
        Err(e) => {
            return Err(Refused {
                message: format!("{e:#}"),
                db,
            })
        }
    };
    let origin = format!("http://127.0.0.1:{}", app.port());
    let demo = app.demo_summary().cloned();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        app.run(async {
            let _ = rx.await;
        })
        .await
        .expect("the server runs");
    });
    Ok(TestApp {
        origin,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        clock,
        db,
        data_dir,
        demo,
        shutdown: Some(tx),
        task: Some(task),
    })
}

impl TestApp {
    /// The origin browsers use (the platform's public origin): `localhost`,
    /// not the IP address tests connect to, because WebAuthn refuses IPs.
    pub fn browser_origin(&self) -> String {
        self.origin.replacen("127.0.0.1", "localhost", 1)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Stops the server gracefully and waits for it. Returns the database, to
    /// start the server on it again.
    pub async fn stop(mut self) -> TestDb {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("the server stops cleanly");
        }
        self.db
    }
}

/// Generates one `#[tokio::test]` per backend for each listed async function
/// taking a [`Backend`]. PostgreSQL tests skip loudly when it is unreachable
/// (never under CI=true).
#[macro_export]
macro_rules! tests_on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Postgres).await;
                }
            )*
        }
    };
}

pub use shengshi_store::Backend;

/// The access log of a test installation, signing with the key kept in its
/// platform secrets (created on first use), as start-up does.
pub async fn start_access_log(
    store: Arc<dyn Store>,
    kek: &dyn shengshi_envelope::KeyEncryptionKey,
    clock: Arc<dyn shengshi_domain::Clock>,
) -> shengshi_app::access_log::AccessLog {
    let secrets =
        shengshi_app::secrets::PlatformSecrets::load_or_create(store.as_ref(), kek, clock.as_ref())
            .await
            .expect("platform secrets");
    shengshi_app::access_log::AccessLog::start(
        store,
        clock,
        "shengshi.access-log/test".to_owned(),
        secrets.access_log_seed(),
    )
    .await
    .expect("the access log starts")
}

/// The core services over a fresh database: a clock tests can move, a fresh
/// key file as the KEK, and the durable security log. For use-case tests that
/// need no HTTP server.
#[derive(Debug)]
pub struct TestServices {
    pub db: TestDb,
    pub services: shengshi_app::Services,
    pub clock: FixedClock,
}

impl TestServices {
    pub async fn new(backend: Backend) -> Option<Self> {
        let db = TestDb::new(backend).await?;
        let store = db.store().await;
        let clock = FixedClock::at(SystemClock.now());
        let kek = shengshi_envelope::LocalKek::create(&db.dir().join("kek")).expect("a key file");
        let security_log = shengshi_app::SecurityLog::start(store.clone(), Arc::new(clock.clone()));
        // As at start-up: the installation exists before anything else is written.
        shengshi_app::installation::open_or_create(
            store.as_ref(),
            &kek,
            &clock,
            &security_log,
            shengshi_envelope::Algorithm::Aes256Gcm,
            false,
        )
        .await
        .expect("the installation");
        let access_log = start_access_log(store.clone(), &kek, Arc::new(clock.clone())).await;
        let services = shengshi_app::Services {
            store: store.clone(),
            clock: Arc::new(clock.clone()),
            kek: Arc::new(kek),
            security_log,
            envelope_algorithm: shengshi_envelope::Algorithm::Aes256Gcm,
            access_log,
        };
        Some(Self {
            db,
            services,
            clock,
        })
    }

    /// The platform secrets of this installation (created on first use).
    pub async fn secrets(&self) -> shengshi_app::secrets::PlatformSecrets {
        shengshi_app::secrets::PlatformSecrets::load_or_create(
            self.services.store.as_ref(),
            self.services.kek.as_ref(),
            &self.clock,
        )
        .await
        .expect("platform secrets")
    }
}

/// An active real-name (L2) account with its own data key and an empty
/// sealed profile, written in one transaction as registration writes it.
pub async fn add_account(
    services: &shengshi_app::Services,
    clock: &dyn Clock,
) -> shengshi_store::StoredAccount {
    add_account_with_profile(
        services,
        clock,
        b"{}",
        uuid::Uuid::now_v7().as_bytes().to_vec(),
    )
    .await
}

/// Like [`add_account`], with a sealed profile (the JSON registration
/// writes: `name`, `id_number`, `phone`) and its ID-number MAC, for tests
/// that open the record.
pub async fn add_account_with_profile(
    services: &shengshi_app::Services,
    clock: &dyn Clock,
    profile_json: &[u8],
    id_number_mac: Vec<u8>,
) -> shengshi_store::StoredAccount {
    let now = clock.now();
    let subject = shengshi_domain::SubjectId::new();
    let key_id = uuid::Uuid::now_v7();
    let key = shengshi_envelope::DataKey::generate(
        shengshi_envelope::KeyRef(*key_id.as_bytes()),
        shengshi_envelope::Algorithm::Aes256Gcm,
    );
    let account = shengshi_store::StoredAccount {
        id: shengshi_domain::AccountId::new(),
        subject,
        assurance_level: 2,
        id_number_mac: Some(id_number_mac),
        phone_mac: uuid::Uuid::now_v7().as_bytes().to_vec(),
        sealed_profile: key.seal(profile_json, b"account.profile").into_bytes(),
        status: "active".into(),
        in_person_verified_at: None,
        created_at: now,
        updated_at: now,
    };
    let stored_key = shengshi_store::StoredDataKey {
        subject,
        key_id,
        algorithm: "aes-256-gcm".into(),
        kek_id: services.kek.id().into(),
        wrapped_key: Some(key.wrap(services.kek.as_ref()).await.expect("wrap")),
        created_at: now,
        destroyed_at: None,
    };
    services
        .store
        .create_account(&account, &stored_key)
        .await
        .expect("the account");
    account
}
