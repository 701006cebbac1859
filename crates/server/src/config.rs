//! Configuration: defaults → TOML file → SHENGSHI_* environment → command-line
//! flags. Secrets can come from `*_FILE` variables; they are typed and never
//! printed (Debug and `config show` redact them, including the password inside
//! a database URL, and never show the KMS token).

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use shengshi_envelope::Algorithm;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const ENV_PREFIX: &str = "SHENGSHI_";

/// Every environment variable we read. Anything else with our prefix is
/// probably a typo and is warned about.
const KNOWN_ENV: &[&str] = &[
    "SHENGSHI_CONFIG",
    "SHENGSHI_MODE",
    "SHENGSHI_LISTEN",
    "SHENGSHI_PUBLIC_ORIGIN",
    "SHENGSHI_DATA_DIR",
    "SHENGSHI_DATABASE_URL",
    "SHENGSHI_DATABASE_URL_FILE",
    "SHENGSHI_KEK_FILE",
    "SHENGSHI_KMS_URL",
    "SHENGSHI_KMS_MOUNT",
    "SHENGSHI_KMS_KEY",
    "SHENGSHI_KMS_TOKEN_FILE",
    "SHENGSHI_KMS_CA_FILE",
    "SHENGSHI_PREVIOUS_KEK_FILES",
    "SHENGSHI_PREVIOUS_KMS_KEYS",
    "SHENGSHI_ENVELOPE_ALGORITHM",
    "SHENGSHI_LOG_FORMAT",
    "SHENGSHI_LOG_LEVEL",
    // Read by the test harness, not by the server.
    "SHENGSHI_TEST_POSTGRES_URL",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Development,
    Production,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Development => "development",
            Self::Production => "production",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A database URL. Its password is a secret: Debug and Display hide it.
#[derive(Clone)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    pub fn new(url: String) -> Self {
        Self(SecretString::from(url))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn is_postgres(&self) -> bool {
        let url = self.expose();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }

    pub fn is_sqlite(&self) -> bool {
        self.expose().starts_with("sqlite:")
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        let Ok(mut url) = url::Url::parse(self.expose()) else {
            return "<unparseable URL>".to_owned();
        };
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        // libpq also accepts `?password=…`.
        if url.query_pairs().any(|(k, _)| k == "password") {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "password" {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        url.to_string()
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The key-encryption key as a key in a HashiCorp Vault / OpenBao Transit
/// engine (`crates/kms`). The transit key must be created with `derived=true`.
#[derive(Clone)]
pub struct KmsConfig {
    /// The server, e.g. `https://vault.internal:8200`.
    pub url: url::Url,
    /// Where the Transit engine is mounted (default `transit`).
    pub mount: String,
    /// The transit key's name.
    pub key: String,
    /// The token, read from `token_file`. Never printed.
    pub token: SecretString,
    pub token_file: PathBuf,
    /// PEM certificates of a private CA that signed the KMS's certificate.
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for KmsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsConfig")
            .field("url", &self.url.as_str())
            .field("mount", &self.mount)
            .field("key", &self.key)
            .field("token", &"[redacted]")
            .field("token_file", &self.token_file)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// The KMS settings as given, layer by layer: each value with where it came from.
#[derive(Debug, Default)]
struct KmsParts {
    url: Option<(String, String)>,
    mount: Option<(String, String)>,
    key: Option<(String, String)>,
    token_file: Option<(PathBuf, String)>,
    ca_file: Option<(PathBuf, String)>,
}

impl KmsParts {
    /// The KMS settings, or `None` when none are given. Refuses half a
    /// configuration, so that a typo never falls back to the key file silently.
    fn assemble(self) -> Result<Option<KmsConfig>, ConfigError> {
        let Some((url, url_source)) = self.url else {
            let stray = [
                self.mount.map(|(_, s)| s),
                self.key.map(|(_, s)| s),
                self.token_file.map(|(_, s)| s),
                self.ca_file.map(|(_, s)| s),
            ];
            if let Some(source) = stray.into_iter().flatten().next() {
                return Err(invalid(
                    &source,
                    "a KMS setting is given but kms_url (SHENGSHI_KMS_URL) is not; set it, or remove the KMS settings",
                ));
            }
            return Ok(None);
        };
        let url = parse_kms_url(&url).map_err(|m| invalid(&url_source, m))?;
        let (mount, mount_source) = self
            .mount
            .unwrap_or_else(|| (shengshi_kms::DEFAULT_MOUNT.to_owned(), "default".to_owned()));
        let mount = mount.trim_matches('/').to_owned();
        if !shengshi_kms::is_valid_mount(&mount) {
            return Err(invalid(
                &mount_source,
                format!("{mount:?} is not a mount path (names of letters, digits, '_', '-' and '.', separated by '/')"),
            ));
        }
        let Some((key, key_source)) = self.key else {
            return Err(invalid(
                &url_source,
                "kms_url is set but kms_key (SHENGSHI_KMS_KEY) is not; name the transit key",
            ));
        };
        if !shengshi_kms::is_valid_key_name(&key) {
            return Err(invalid(
                &key_source,
                format!("{key:?} is not a transit key name (letters, digits, '_', '-' and '.')"),
            ));
        }
        let Some((token_file, token_source)) = self.token_file else {
            return Err(invalid(
                &url_source,
                "kms_url is set but kms_token_file (SHENGSHI_KMS_TOKEN_FILE) is not; point it at a file holding the KMS token",
            ));
        };
        let token = read_secret(&token_source, &token_file)?;
        if token.is_empty() {
            return Err(invalid(
                &token_source,
                format!("the token file {} is empty", token_file.display()),
            ));
        }
        Ok(Some(KmsConfig {
            url,
            mount,
            key,
            token: SecretString::from(token),
            token_file,
            ca_file: self.ca_file.map(|(path, _)| path),
        }))
    }
}

/// The file layer. Unknown keys are errors, so a typo cannot silently fall back
/// to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLayer {
    mode: Option<Mode>,
    listen: Option<String>,
    public_origin: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_url_file: Option<PathBuf>,
    kek_file: Option<PathBuf>,
    kms_url: Option<String>,
    kms_mount: Option<String>,
    kms_key: Option<String>,
    kms_token_file: Option<PathBuf>,
    kms_ca_file: Option<PathBuf>,
    previous_kek_files: Option<Vec<PathBuf>>,
    previous_kms_keys: Option<Vec<String>>,
    envelope_algorithm: Option<String>,
    log_format: Option<LogFormat>,
    log_level: Option<String>,
    sms_aliyun: Option<SmsAliyunFile>,
    carrier_aliyun: Option<CarrierAliyunFile>,
    registry_http: Option<RegistryHttpFile>,
    witness: Option<WitnessFile>,
    eid: Option<EidFile>,
}

/// `[eid]`: the electronic ID card issuer. No secret: the trust root's
/// private key stays on its offline machine; only its public key is here.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EidFile {
    /// The offline trust root's public key, as `shengshi eid trust-root init` printed it.
    trust_root: Option<String>,
    /// `ed25519` (default), `p256` or `sm2`: the algorithm of new issuer keys.
    algorithm: Option<String>,
    /// The `iss` of every code (default: the public origin).
    issuer: Option<String>,
}

/// The configured e-ID issuer.
#[derive(Clone, Debug)]
pub struct EidConfig {
    pub trust_root: Option<shengshi_eid::PublicKey>,
    pub algorithm: shengshi_eid::Algorithm,
    pub issuer: Option<String>,
}

impl Default for EidConfig {
    fn default() -> Self {
        Self {
            trust_root: None,
            algorithm: shengshi_eid::Algorithm::Ed25519,
            issuer: None,
        }
    }
}

/// `[witness]`: an independent witness that cosigns the access log's
/// checkpoints (C2SP tlog-witness). No secret: only its URL and public key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessFile {
    url: String,
    /// The witness's verifier key (what `shengshi witness init` printed).
    key: String,
    /// How often to ask for a cosignature of the latest checkpoint (default 60).
    interval_seconds: Option<u64>,
}

/// A configured witness.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    pub url: url::Url,
    pub key: String,
    pub interval: std::time::Duration,
}

/// `[sms_aliyun]`: Alibaba Cloud SMS. Secrets only from files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsAliyunFile {
    endpoint: Option<String>,
    access_key_id: String,
    access_key_secret_file: PathBuf,
    sign_name: String,
    /// Platform template id (e.g. `SMS_CODE`) → approved template code.
    templates: std::collections::BTreeMap<String, String>,
}

/// `[carrier_aliyun]`: the carrier three-factor check through Alibaba Cloud.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CarrierAliyunFile {
    endpoint: Option<String>,
    access_key_id: String,
    access_key_secret_file: PathBuf,
    auth_code: String,
}

/// `[registry_http]`: a province's population registry over HTTP (docs/registry-protocol.md).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryHttpFile {
    url: String,
    token_file: PathBuf,
}

/// The adapters to systems outside the platform, when configured. Each holds
/// its secret already read from its file; Debug never shows it.
#[derive(Clone, Debug, Default)]
pub struct AdapterConfig {
    pub sms_aliyun: Option<shengshi_sms::AliyunSmsConfig>,
    pub carrier_aliyun: Option<shengshi_carrier::AliyunThreeElementsConfig>,
    pub registry_http: Option<(url::Url, SecretString)>,
    pub witness: Option<WitnessConfig>,
    pub eid: EidConfig,
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub demo: bool,
}

/// The effective configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub mode: Mode,
    pub listen: SocketAddr,
    /// The origin residents use. Development derives `http://localhost:PORT`.
    pub public_origin: Option<url::Url>,
    pub data_dir: PathBuf,
    /// `None` means SQLite in the data directory.
    pub database_url: Option<DatabaseUrl>,
    /// `None` means `kek.key` in the data directory (development only).
    /// Unused, and refused, when `kms` is set.
    pub kek_file: Option<PathBuf>,
    /// The key-encryption key in a KMS instead of a file.
    pub kms: Option<KmsConfig>,
    /// During a rotation: earlier key-encryption key files. They only unwrap
    /// what their id is stored beside; everything new is wrapped by the
    /// primary key (`kek_file` or the KMS key). See docs/operations.md.
    pub previous_kek_files: Vec<PathBuf>,
    /// During a rotation: earlier transit keys in the same KMS (`kms_url`,
    /// `kms_mount`, token), unwrapping only.
    pub previous_kms_keys: Vec<String>,
    pub envelope_algorithm: Algorithm,
    pub log_format: LogFormat,
    pub log_level: String,
    pub demo: bool,
    /// SMS gateway, carrier check and external registry (TOML sections).
    pub adapters: AdapterConfig,
    /// Where the values came from, for `config show`.
    pub config_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            mode: Mode::Development,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_origin: None,
            data_dir: PathBuf::from("shengshi-data"),
            database_url: None,
            kek_file: None,
            kms: None,
            previous_kek_files: Vec::new(),
            previous_kms_keys: Vec::new(),
            envelope_algorithm: Algorithm::Aes256Gcm,
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            demo: false,
            adapters: AdapterConfig::default(),
            config_file: None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    FileUnreadable { path: PathBuf, reason: String },
    #[error("config file {path}, line {line}: {message}")]
    FileInvalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{source_name}: {message}")]
    InvalidValue {
        source_name: String,
        message: String,
    },
    #[error("cannot read {variable} file {path}: {reason}")]
    SecretFileUnreadable {
        variable: String,
        path: PathBuf,
        reason: String,
    },
    #[error("unsafe for production: {0}")]
    UnsafeForProduction(String),
}

fn invalid(source_name: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        source_name: source_name.to_owned(),
        message: message.into(),
    }
}

impl Config {
    /// Loads the configuration from every layer. `env` is passed in so tests do
    /// not depend on the process environment. Returns the unknown SHENGSHI_*
    /// variables too, for the caller to warn about once logging is up.
    pub fn load(
        env: &[(String, String)],
        overrides: &Overrides,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let mut config = Config::default();
        let mut kms = KmsParts::default();

        // 1. the file
        let file_path = overrides
            .config_file
            .clone()
            .or_else(|| get("SHENGSHI_CONFIG").map(PathBuf::from));
        if let Some(path) = &file_path {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::FileUnreadable {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            let layer: FileLayer = toml::from_str(&text).map_err(|e| ConfigError::FileInvalid {
                path: path.clone(),
                line: e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                    .unwrap_or(1),
                message: e.message().to_owned(),
            })?;
            config.apply_file(layer, path, &mut kms)?;
            config.config_file = Some(path.clone());
        }

        // 2. the environment
        let source = |name: &str| format!("environment variable {name}");
        if let Some(v) = get("SHENGSHI_MODE") {
            config.mode = parse_mode(&v).ok_or_else(|| {
                invalid(
                    &source("SHENGSHI_MODE"),
                    "expected development or production",
                )
            })?;
        }
        if let Some(v) = get("SHENGSHI_LISTEN") {
            config.listen = parse_listen(&v).map_err(|m| invalid(&source("SHENGSHI_LISTEN"), m))?;
        }
        if let Some(v) = get("SHENGSHI_PUBLIC_ORIGIN") {
            config.public_origin =
                Some(parse_origin(&v).map_err(|m| invalid(&source("SHENGSHI_PUBLIC_ORIGIN"), m))?);
        }
        if let Some(v) = get("SHENGSHI_DATA_DIR") {
            config.data_dir = PathBuf::from(v);
        }
        if let Some(v) = get("SHENGSHI_DATABASE_URL") {
            config.database_url = Some(DatabaseUrl::new(v));
        }
        if let Some(path) = get("SHENGSHI_DATABASE_URL_FILE") {
            config.database_url = Some(read_secret_file(
                "SHENGSHI_DATABASE_URL_FILE",
                Path::new(&path),
            )?);
        }
        if let Some(v) = get("SHENGSHI_KEK_FILE") {
            config.kek_file = Some(PathBuf::from(v));
        }
        if let Some(v) = get("SHENGSHI_KMS_URL") {
            kms.url = Some((v, source("SHENGSHI_KMS_URL")));
        }
        if let Some(v) = get("SHENGSHI_KMS_MOUNT") {
            kms.mount = Some((v, source("SHENGSHI_KMS_MOUNT")));
        }
        if let Some(v) = get("SHENGSHI_KMS_KEY") {
            kms.key = Some((v, source("SHENGSHI_KMS_KEY")));
        }
        if let Some(v) = get("SHENGSHI_KMS_TOKEN_FILE") {
            kms.token_file = Some((PathBuf::from(v), "SHENGSHI_KMS_TOKEN_FILE".to_owned()));
        }
        if let Some(v) = get("SHENGSHI_KMS_CA_FILE") {
            kms.ca_file = Some((PathBuf::from(v), source("SHENGSHI_KMS_CA_FILE")));
        }
        // Separated like PATH (':' on Unix).
        if let Some(v) = get("SHENGSHI_PREVIOUS_KEK_FILES") {
            config.previous_kek_files = std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
        }
        if let Some(v) = get("SHENGSHI_PREVIOUS_KMS_KEYS") {
            config.previous_kms_keys = v
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(v) = get("SHENGSHI_ENVELOPE_ALGORITHM") {
            config.envelope_algorithm = Algorithm::from_name(&v).ok_or_else(|| {
                invalid(
                    &source("SHENGSHI_ENVELOPE_ALGORITHM"),
                    "expected aes-256-gcm or sm4-gcm",
                )
            })?;
        }
        if let Some(v) = get("SHENGSHI_LOG_FORMAT") {
            config.log_format = match v.as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(invalid(
                        &source("SHENGSHI_LOG_FORMAT"),
                        "expected text or json",
                    ))
                }
            };
        }
        if let Some(v) = get("SHENGSHI_LOG_LEVEL") {
            config.log_level = v;
        }

        // 3. the command line
        if let Some(v) = &overrides.listen {
            config.listen = parse_listen(v).map_err(|m| invalid("--listen", m))?;
        }
        if let Some(v) = &overrides.data_dir {
            config.data_dir = v.clone();
        }
        if let Some(v) = &overrides.database_url {
            config.database_url = Some(DatabaseUrl::new(v.clone()));
        }
        config.demo = overrides.demo;

        config.kms = kms.assemble()?;
        if config.kms.is_some() && config.kek_file.is_some() {
            return Err(invalid(
                "kms_url and kek_file",
                "both are set; the key-encryption key is either in the KMS (kms_url) or in a file (kek_file), so remove one",
            ));
        }
        if !config.previous_kms_keys.is_empty() && config.kms.is_none() {
            return Err(invalid(
                "previous_kms_keys",
                "set, but kms_url is not; previous transit keys live in the same KMS as the primary key",
            ));
        }
        if let Some(bad) = config
            .previous_kms_keys
            .iter()
            .find(|k| !shengshi_kms::is_valid_key_name(k))
        {
            return Err(invalid(
                "previous_kms_keys",
                format!("{bad:?} is not a transit key name (letters, digits, '_', '-' and '.')"),
            ));
        }

        if let Some(url) = &config.database_url {
            if !url.is_postgres() && !url.is_sqlite() {
                return Err(invalid(
                    "database_url",
                    format!("{url} is neither a postgres:// nor a sqlite: URL"),
                ));
            }
        }

        let unknown = env
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with(ENV_PREFIX) && !KNOWN_ENV.contains(&k.as_str()))
            .cloned()
            .collect();
        Ok((config, unknown))
    }

    fn apply_file(
        &mut self,
        layer: FileLayer,
        path: &Path,
        kms: &mut KmsParts,
    ) -> Result<(), ConfigError> {
        let source = |key: &str| format!("config file {}, key {key}", path.display());
        if let Some(v) = layer.mode {
            self.mode = v;
        }
        if let Some(v) = layer.listen {
            self.listen = parse_listen(&v).map_err(|m| invalid(&source("listen"), m))?;
        }
        if let Some(v) = layer.public_origin {
            self.public_origin =
                Some(parse_origin(&v).map_err(|m| invalid(&source("public_origin"), m))?);
        }
        if let Some(v) = layer.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = layer.database_url {
            self.database_url = Some(DatabaseUrl::new(v));
        }
        if let Some(v) = layer.database_url_file {
            self.database_url = Some(read_secret_file("database_url_file", &v)?);
        }
        if let Some(v) = layer.kek_file {
            self.kek_file = Some(v);
        }
        kms.url = layer.kms_url.map(|v| (v, source("kms_url")));
        kms.mount = layer.kms_mount.map(|v| (v, source("kms_mount")));
        kms.key = layer.kms_key.map(|v| (v, source("kms_key")));
        kms.token_file = layer
            .kms_token_file
            .map(|v| (v, "kms_token_file".to_owned()));
        kms.ca_file = layer.kms_ca_file.map(|v| (v, source("kms_ca_file")));
        if let Some(v) = layer.previous_kek_files {
            self.previous_kek_files = v;
        }
        if let Some(v) = layer.previous_kms_keys {
            self.previous_kms_keys = v;
        }
        if let Some(v) = layer.envelope_algorithm {
            self.envelope_algorithm = Algorithm::from_name(&v).ok_or_else(|| {
                invalid(
                    &source("envelope_algorithm"),
                    "expected aes-256-gcm or sm4-gcm",
                )
            })?;
        }
        if let Some(v) = layer.log_format {
            self.log_format = v;
        }
        if let Some(v) = layer.log_level {
            self.log_level = v;
        }
        if let Some(sms) = layer.sms_aliyun {
            let endpoint = adapter_endpoint(
                sms.endpoint,
                shengshi_sms::DEFAULT_ENDPOINT,
                &source("sms_aliyun.endpoint"),
            )?;
            self.adapters.sms_aliyun = Some(shengshi_sms::AliyunSmsConfig {
                endpoint,
                access_key_id: sms.access_key_id,
                access_key_secret: SecretString::from(read_secret(
                    "sms_aliyun.access_key_secret_file",
                    &sms.access_key_secret_file,
                )?),
                sign_name: sms.sign_name,
                templates: sms.templates,
            });
        }
        if let Some(carrier) = layer.carrier_aliyun {
            let endpoint = adapter_endpoint(
                carrier.endpoint,
                shengshi_carrier::DEFAULT_ENDPOINT,
                &source("carrier_aliyun.endpoint"),
            )?;
            self.adapters.carrier_aliyun = Some(shengshi_carrier::AliyunThreeElementsConfig {
                endpoint,
                access_key_id: carrier.access_key_id,
                access_key_secret: SecretString::from(read_secret(
                    "carrier_aliyun.access_key_secret_file",
                    &carrier.access_key_secret_file,
                )?),
                auth_code: carrier.auth_code,
            });
        }
        if let Some(registry) = layer.registry_http {
            let url = url::Url::parse(&registry.url)
                .map_err(|e| invalid(&source("registry_http.url"), format!("not a URL: {e}")))?;
            let token = SecretString::from(read_secret(
                "registry_http.token_file",
                &registry.token_file,
            )?);
            self.adapters.registry_http = Some((url, token));
        }
        if let Some(witness) = layer.witness {
            let url = url::Url::parse(&witness.url)
                .map_err(|e| invalid(&source("witness.url"), format!("not a URL: {e}")))?;
            shengshi_tlog::CosignatureVerifier::from_vkey(&witness.key)
                .map_err(|e| invalid(&source("witness.key"), format!("not a witness key: {e}")))?;
            let seconds = witness.interval_seconds.unwrap_or(60);
            if seconds == 0 {
                return Err(invalid(
                    &source("witness.interval_seconds"),
                    "must be at least 1",
                ));
            }
            self.adapters.witness = Some(WitnessConfig {
                url,
                key: witness.key,
                interval: std::time::Duration::from_secs(seconds),
            });
        }
        if let Some(eid) = layer.eid {
            if let Some(root) = eid.trust_root {
                let key = shengshi_eid::PublicKey::from_text(&root).map_err(|e| {
                    invalid(&source("eid.trust_root"), format!("not a public key: {e}"))
                })?;
                self.adapters.eid.trust_root = Some(key);
            }
            if let Some(name) = eid.algorithm {
                self.adapters.eid.algorithm = shengshi_app::eid::parse_algorithm(&name)
                    .ok_or_else(|| invalid(&source("eid.algorithm"), "use ed25519, p256 or sm2"))?;
            }
            if let Some(issuer) = eid.issuer {
                if issuer.trim().is_empty() || issuer.len() > 200 {
                    return Err(invalid(&source("eid.issuer"), "1 to 200 characters"));
                }
                self.adapters.eid.issuer = Some(issuer);
            }
        }
        Ok(())
    }

    /// The SQLite database used when no URL is configured.
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("shengshi.db")
    }

    pub fn effective_database_url(&self) -> DatabaseUrl {
        self.database_url.clone().unwrap_or_else(|| {
            DatabaseUrl::new(format!("sqlite://{}", self.sqlite_path().display()))
        })
    }

    pub fn effective_kek_file(&self) -> PathBuf {
        self.kek_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("kek.key"))
    }

    /// The origin residents use.
    pub fn effective_public_origin(&self, port: u16) -> String {
        match &self.public_origin {
            Some(origin) => origin.as_str().trim_end_matches('/').to_owned(),
            // Browsers refuse an IP address as a WebAuthn relying party.
            None => format!("http://localhost:{port}"),
        }
    }

    /// Production refuses anything unsafe, saying what. Checks what can be known
    /// without touching the database.
    pub fn check_production(&self) -> Result<(), ConfigError> {
        if self.mode != Mode::Production {
            return Ok(());
        }
        let unsafe_ = |m: &str| Err(ConfigError::UnsafeForProduction(m.to_owned()));
        if self.demo {
            return unsafe_("production refuses demo data; remove --demo");
        }
        match &self.public_origin {
            None => return unsafe_("production requires an explicit public origin; set public_origin (SHENGSHI_PUBLIC_ORIGIN), e.g. https://shengshi.example.gov.cn"),
            Some(origin) if origin.scheme() != "https" => {
                return unsafe_("the public origin must use https in production");
            }
            Some(_) => {}
        }
        for previous in &self.previous_kek_files {
            check_secret_file(previous, "previous key-encryption key", &self.data_dir)?;
        }
        if let Some(kms) = &self.kms {
            if kms.url.scheme() != "https" {
                return unsafe_("the KMS URL (kms_url) must use https in production: the token and every data key cross that connection");
            }
            return check_secret_file(&kms.token_file, "KMS token", &self.data_dir);
        }
        let Some(kek) = &self.kek_file else {
            return unsafe_("production requires a KMS (kms_url, SHENGSHI_KMS_URL) or kek_file (SHENGSHI_KEK_FILE) pointing outside the data directory, e.g. a secret mounted by the orchestrator");
        };
        check_secret_file(kek, "key-encryption key", &self.data_dir)
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn show(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
        let opt = |p: &Option<String>, default: String| p.clone().unwrap_or(default);
        let mut out = String::new();
        out.push_str(&format!(
            "# effective configuration ({})\n",
            match &self.config_file {
                Some(p) => format!("defaults, {}, environment, flags", p.display()),
                None => "defaults, environment, flags".to_owned(),
            }
        ));
        out.push_str(&format!("mode = {}\n", q(self.mode.name())));
        out.push_str(&format!("listen = {}\n", q(&self.listen.to_string())));
        out.push_str(&format!(
            "public_origin = {}\n",
            q(&opt(
                &self.public_origin.as_ref().map(|u| u.to_string()),
                format!(
                    "(derived) {}",
                    self.effective_public_origin(self.listen.port())
                )
            ))
        ));
        out.push_str(&format!(
            "data_dir = {}\n",
            q(&self.data_dir.display().to_string())
        ));
        out.push_str(&format!(
            "database_url = {}\n",
            q(&self.effective_database_url().redacted())
        ));
        match &self.kms {
            // The token itself is never shown; its file's path is not a secret.
            Some(kms) => {
                out.push_str(&format!("kms_url = {}\n", q(kms.url.as_str())));
                out.push_str(&format!("kms_mount = {}\n", q(&kms.mount)));
                out.push_str(&format!("kms_key = {}\n", q(&kms.key)));
                out.push_str(&format!(
                    "kms_token_file = {}\n",
                    q(&kms.token_file.display().to_string())
                ));
                if let Some(ca) = &kms.ca_file {
                    out.push_str(&format!("kms_ca_file = {}\n", q(&ca.display().to_string())));
                }
            }
            None => out.push_str(&format!(
                "kek_file = {}\n",
                q(&self.effective_kek_file().display().to_string())
            )),
        }
        let list = |items: Vec<String>| {
            toml::Value::Array(items.into_iter().map(toml::Value::String).collect()).to_string()
        };
        if !self.previous_kek_files.is_empty() {
            out.push_str(&format!(
                "previous_kek_files = {}\n",
                list(
                    self.previous_kek_files
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect()
                )
            ));
        }
        if !self.previous_kms_keys.is_empty() {
            out.push_str(&format!(
                "previous_kms_keys = {}\n",
                list(self.previous_kms_keys.clone())
            ));
        }
        out.push_str(&format!(
            "envelope_algorithm = {}\n",
            q(self.envelope_algorithm.name())
        ));
        out.push_str(&format!(
            "log_format = {}\n",
            q(match self.log_format {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            })
        ));
        out.push_str(&format!("log_level = {}\n", q(&self.log_level)));
        // Adapters: where they point and who we are there; never their secrets.
        if let Some(sms) = &self.adapters.sms_aliyun {
            out.push_str(&format!(
                "\n[sms_aliyun]\nendpoint = {}\naccess_key_id = {}\naccess_key_secret = \"[redacted]\"\nsign_name = {}\n",
                q(sms.endpoint.as_str()),
                q(&sms.access_key_id),
                q(&sms.sign_name)
            ));
        }
        if let Some(carrier) = &self.adapters.carrier_aliyun {
            out.push_str(&format!(
                "\n[carrier_aliyun]\nendpoint = {}\naccess_key_id = {}\naccess_key_secret = \"[redacted]\"\n",
                q(carrier.endpoint.as_str()),
                q(&carrier.access_key_id)
            ));
        }
        if let Some((url, _)) = &self.adapters.registry_http {
            out.push_str(&format!(
                "\n[registry_http]\nurl = {}\ntoken = \"[redacted]\"\n",
                q(url.as_str())
            ));
        }
        if let Some(witness) = &self.adapters.witness {
            out.push_str(&format!(
                "\n[witness]\nurl = {}\nkey = {}\ninterval_seconds = {}\n",
                q(witness.url.as_str()),
                q(&witness.key),
                witness.interval.as_secs()
            ));
        }
        let eid = &self.adapters.eid;
        out.push_str(&format!(
            "\n[eid]\ntrust_root = {}\nalgorithm = {}\n",
            q(&eid
                .trust_root
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), |k| k.to_text())),
            q(shengshi_app::eid::algorithm_name(eid.algorithm))
        ));
        if let Some(issuer) = &eid.issuer {
            out.push_str(&format!("issuer = {}\n", q(issuer)));
        }
        out
    }
}

fn parse_mode(v: &str) -> Option<Mode> {
    match v {
        "development" => Some(Mode::Development),
        "production" => Some(Mode::Production),
        _ => None,
    }
}

fn parse_listen(v: &str) -> Result<SocketAddr, String> {
    v.parse()
        .map_err(|_| format!("{v:?} is not an address and port such as 127.0.0.1:8080"))
}

fn parse_origin(v: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(v).map_err(|e| format!("{v:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{v:?} is not an http(s) origin"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{v:?} must be an origin only, without a path"));
    }
    Ok(url)
}

fn read_secret_file(variable: &str, path: &Path) -> Result<DatabaseUrl, ConfigError> {
    Ok(DatabaseUrl::new(read_secret(variable, path)?))
}

/// A secret file's content without surrounding whitespace.
fn adapter_endpoint(
    given: Option<String>,
    default: &str,
    source: &str,
) -> Result<url::Url, ConfigError> {
    let text = given.unwrap_or_else(|| default.to_owned());
    url::Url::parse(&text).map_err(|e| invalid(source, format!("{text:?} is not a URL: {e}")))
}

fn read_secret(variable: &str, path: &Path) -> Result<String, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::SecretFileUnreadable {
        variable: variable.to_owned(),
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(text.trim().to_owned())
}

fn parse_kms_url(v: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(v).map_err(|e| format!("{v:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{v:?} is not an http(s) URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the KMS URL must not carry credentials; put the token in kms_token_file".to_owned(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{v:?} must not have a query or fragment"));
    }
    Ok(url)
}

/// A file that unlocks the data (the KEK file, or the KMS token) lives outside
/// the data directory, so a backup does not carry its own key, and only its
/// owner can read it.
fn check_secret_file(path: &Path, what: &str, data_dir: &Path) -> Result<(), ConfigError> {
    if is_inside(path, data_dir) {
        return Err(ConfigError::UnsafeForProduction(format!(
            "the {what} {} is inside the data directory {}; a backup of the data would carry its own key. Keep it elsewhere",
            path.display(),
            data_dir.display()
        )));
    }
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(ConfigError::UnsafeForProduction(format!(
                "the {what} {} is readable by other users; run chmod 600 on it",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Whether `path` is inside `dir`, comparing absolute, normalised paths.
fn is_inside(path: &Path, dir: &Path) -> bool {
    let absolute = |p: &Path| {
        std::fs::canonicalize(p)
            .unwrap_or_else(|_| std::env::current_dir().unwrap_or_default().join(p))
    };
    let path = match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => absolute(parent).join(name),
        _ => absolute(path),
    };
    path.starts_with(absolute(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn zero_configuration_means_sqlite_in_a_data_directory_on_localhost_8080() {
        let (config, unknown) = Config::load(&[], &Overrides::default()).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.mode, Mode::Development);
        assert!(config.effective_database_url().is_sqlite());
        assert_eq!(
            config.effective_public_origin(8080),
            "http://localhost:8080"
        );
        assert!(unknown.is_empty());
    }

    #[test]
    fn layers_apply_in_order_file_then_environment_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shengshi.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nlog_level = \"debug\"\nlog_format = \"json\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            config_file: Some(file),
            ..Default::default()
        };
        let (config, _) =
            Config::load(&env(&[("SHENGSHI_LOG_LEVEL", "warn")]), &overrides).unwrap();
        assert_eq!(config.listen.port(), 9000, "file beats default");
        assert_eq!(config.log_level, "warn", "environment beats file");
        assert_eq!(config.log_format, LogFormat::Json);
        let overrides = Overrides {
            listen: Some("127.0.0.1:9100".into()),
            ..overrides
        };
        let (config, _) =
            Config::load(&env(&[("SHENGSHI_LISTEN", "127.0.0.1:9050")]), &overrides).unwrap();
        assert_eq!(config.listen.port(), 9100, "flag beats environment");
    }

    #[test]
    fn an_unknown_file_key_is_an_error_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "mode = \"development\"\nlisen = \"127.0.0.1:1\"\n").unwrap();
        let err = Config::load(
            &[],
            &Overrides {
                config_file: Some(file),
                ..Default::default()
            },
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 2") && text.contains("lisen"), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
    }

    #[test]
    fn malformed_values_are_refused_with_their_source() {
        let err = Config::load(
            &env(&[("SHENGSHI_LISTEN", "localhost")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("SHENGSHI_LISTEN"), "{err}");
        let err = Config::load(
            &env(&[("SHENGSHI_DATABASE_URL", "mysql://x")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("neither"), "{err}");
        let err = Config::load(
            &env(&[("SHENGSHI_PUBLIC_ORIGIN", "https://a.example/path")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("origin only"), "{err}");
    }

    #[test]
    fn unknown_prefixed_variables_are_reported() {
        let (_, unknown) = Config::load(
            &env(&[("SHENGSHI_LISTN", "x"), ("PATH", "/bin")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(unknown, vec!["SHENGSHI_LISTN".to_owned()]);
    }

    #[test]
    fn adapter_sections_load_their_secrets_from_files_and_never_print_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sms"), "sms-secret-value\n").unwrap();
        std::fs::write(dir.path().join("carrier"), "carrier-secret-value\n").unwrap();
        std::fs::write(dir.path().join("registry"), "registry-token-value\n").unwrap();
        let file = dir.path().join("shengshi.toml");
        std::fs::write(
            &file,
            format!(
                "[sms_aliyun]\naccess_key_id = \"LTAI-sms\"\naccess_key_secret_file = {:?}\nsign_name = \"省事\"\n\
                 [sms_aliyun.templates]\nSMS_CODE = \"SMS_100\"\n\
                 [carrier_aliyun]\naccess_key_id = \"LTAI-carrier\"\naccess_key_secret_file = {:?}\nauth_code = \"AUTH\"\n\
                 [registry_http]\nurl = \"https://registry.example.gov.cn/\"\ntoken_file = {:?}\n",
                dir.path().join("sms"),
                dir.path().join("carrier"),
                dir.path().join("registry")
            ),
        )
        .unwrap();
        let (config, _) = Config::load(
            &[],
            &Overrides {
                config_file: Some(file.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        let sms = config.adapters.sms_aliyun.as_ref().unwrap();
        assert_eq!(sms.endpoint.as_str(), "https://dysmsapi.aliyuncs.com/");
        assert_eq!(sms.templates["SMS_CODE"], "SMS_100");
        assert_eq!(
            config.adapters.carrier_aliyun.as_ref().unwrap().auth_code,
            "AUTH"
        );
        for shown in [config.show(), format!("{config:?}")] {
            for secret in [
                "sms-secret-value",
                "carrier-secret-value",
                "registry-token-value",
            ] {
                assert!(!shown.contains(secret), "{secret} leaked: {shown}");
            }
        }
        assert!(config.show().contains("[registry_http]"));
        // A typo inside a section is an error, like anywhere else in the file.
        std::fs::write(
            &file,
            "[registry_http]\nurl = \"https://r.example/\"\ntoken_fil = \"x\"\n",
        )
        .unwrap();
        let err = Config::load(
            &[],
            &Overrides {
                config_file: Some(file),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("token_fil"), "{err}");
    }

    #[test]
    fn a_witness_section_names_a_url_and_a_key_and_refuses_a_bad_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shengshi.toml");
        let key = shengshi_tlog::Cosigner::new("audit.example/witness", &[3; 32])
            .unwrap()
            .verifier()
            .to_vkey();
        let load = |text: String| {
            std::fs::write(&file, text).unwrap();
            Config::load(
                &[],
                &Overrides {
                    config_file: Some(file.clone()),
                    ..Default::default()
                },
            )
        };
        let (config, _) = load(format!(
            "[witness]\nurl = \"https://audit.example/\"\nkey = {key:?}\ninterval_seconds = 30\n"
        ))
        .unwrap();
        let witness = config.adapters.witness.as_ref().unwrap();
        assert_eq!(witness.interval.as_secs(), 30);
        assert!(config.show().contains("[witness]"));
        let err = load("[witness]\nurl = \"https://audit.example/\"\nkey = \"not-a-key\"\n".into())
            .unwrap_err();
        assert!(err.to_string().contains("witness.key"), "{err}");
        let err = load(format!(
            "[witness]\nurl = \"https://audit.example/\"\nkey = {key:?}\ninterval_seconds = 0\n"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
    }

    #[test]
    fn secrets_come_from_files_and_are_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("db-url");
        std::fs::write(
            &secret,
            "postgres://shengshi:hunter2@db.internal/shengshi\n",
        )
        .unwrap();
        let (config, _) = Config::load(
            &env(&[("SHENGSHI_DATABASE_URL_FILE", secret.to_str().unwrap())]),
            &Overrides::default(),
        )
        .unwrap();
        let url = config.database_url.as_ref().unwrap();
        assert_eq!(
            url.expose(),
            "postgres://shengshi:hunter2@db.internal/shengshi"
        );
        let in_query =
            DatabaseUrl::new("postgres://db.internal/shengshi?user=s&password=hunter2".into());
        assert!(
            !in_query.redacted().contains("hunter2"),
            "{}",
            in_query.redacted()
        );
        for shown in [format!("{config:?}"), config.show(), url.to_string()] {
            assert!(!shown.contains("hunter2"), "secret leaked: {shown}");
            assert!(
                shown.contains("***") || !shown.contains("database_url"),
                "{shown}"
            );
        }
    }

    fn kms_env(dir: &Path, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let token = dir.join("kms-token");
        std::fs::write(&token, "hvs.s3cr3t-t0ken\n").unwrap();
        let mut pairs = vec![
            (
                "SHENGSHI_KMS_URL".to_owned(),
                "https://vault.internal:8200".to_owned(),
            ),
            ("SHENGSHI_KMS_KEY".to_owned(), "shengshi-kek".to_owned()),
            (
                "SHENGSHI_KMS_TOKEN_FILE".to_owned(),
                token.display().to_string(),
            ),
        ];
        for (k, v) in extra {
            pairs.retain(|(key, _)| key != k);
            if !v.is_empty() {
                pairs.push((k.to_string(), v.to_string()));
            }
        }
        pairs
    }

    #[test]
    fn previous_keys_of_a_rotation_come_from_the_file_or_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shengshi.toml");
        std::fs::write(
            &file,
            "kek_file = \"/keys/new\"\nprevious_kek_files = [\"/keys/old\", \"/keys/older\"]\n",
        )
        .unwrap();
        let overrides = Overrides {
            config_file: Some(file),
            ..Overrides::default()
        };
        let (config, _) = Config::load(&[], &overrides).unwrap();
        assert_eq!(
            config.previous_kek_files,
            vec![PathBuf::from("/keys/old"), PathBuf::from("/keys/older")]
        );
        assert!(config
            .show()
            .contains(r#"previous_kek_files = ["/keys/old", "/keys/older"]"#));
        let (config, unknown) = Config::load(
            &env(&[("SHENGSHI_PREVIOUS_KEK_FILES", "/keys/a:/keys/b")]),
            &overrides,
        )
        .unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(
            config.previous_kek_files,
            vec![PathBuf::from("/keys/a"), PathBuf::from("/keys/b")]
        );

        let (config, _) = Config::load(
            &kms_env(
                dir.path(),
                &[("SHENGSHI_PREVIOUS_KMS_KEYS", "kek-2025, kek-2026")],
            ),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(config.previous_kms_keys, vec!["kek-2025", "kek-2026"]);
        let err = Config::load(
            &env(&[("SHENGSHI_PREVIOUS_KMS_KEYS", "kek-2025")]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("kms_url is not"), "{err}");
    }

    #[test]
    fn a_kms_is_configured_from_the_environment_and_its_token_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let (config, unknown) =
            Config::load(&kms_env(dir.path(), &[]), &Overrides::default()).unwrap();
        assert!(unknown.is_empty(), "{unknown:?}");
        let kms = config.kms.as_ref().expect("a KMS");
        assert_eq!(kms.url.as_str(), "https://vault.internal:8200/");
        assert_eq!(kms.mount, "transit", "the default mount");
        assert_eq!(kms.key, "shengshi-kek");
        assert_eq!(kms.token.expose_secret(), "hvs.s3cr3t-t0ken");
        let shown = config.show();
        assert!(
            shown.contains(r#"kms_url = "https://vault.internal:8200/""#),
            "{shown}"
        );
        assert!(shown.contains(r#"kms_key = "shengshi-kek""#), "{shown}");
        assert!(
            !shown.contains("kek_file"),
            "the key file is not used: {shown}"
        );
        for text in [shown, format!("{config:?}")] {
            assert!(!text.contains("s3cr3t"), "token leaked: {text}");
        }

        let file = dir.path().join("shengshi.toml");
        std::fs::write(
            &file,
            format!(
                "kms_url = \"https://vault.internal:8200\"\nkms_mount = \"data-protection/transit\"\nkms_key = \"k1\"\nkms_token_file = {:?}\n",
                dir.path().join("kms-token").display().to_string()
            ),
        )
        .unwrap();
        let overrides = Overrides {
            config_file: Some(file),
            ..Default::default()
        };
        let (config, _) = Config::load(&env(&[("SHENGSHI_KMS_KEY", "k2")]), &overrides).unwrap();
        let kms = config.kms.unwrap();
        assert_eq!(kms.mount, "data-protection/transit");
        assert_eq!(kms.key, "k2", "environment beats file");
    }

    #[test]
    fn half_a_kms_configuration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = |extra: &[(&str, &str)]| {
            Config::load(&kms_env(dir.path(), extra), &Overrides::default())
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[("SHENGSHI_KMS_URL", "")]).contains("kms_url (SHENGSHI_KMS_URL) is not"));
        assert!(err(&[("SHENGSHI_KMS_KEY", "")]).contains("kms_key"));
        assert!(err(&[("SHENGSHI_KMS_TOKEN_FILE", "")]).contains("kms_token_file"));
        assert!(err(&[("SHENGSHI_KMS_TOKEN_FILE", "/nonexistent/token")])
            .contains("SHENGSHI_KMS_TOKEN_FILE"));
        assert!(err(&[("SHENGSHI_KMS_KEY", "../sys")]).contains("transit key name"));
        assert!(err(&[("SHENGSHI_KMS_MOUNT", "a b")]).contains("mount path"));
        let with_password = err(&[("SHENGSHI_KMS_URL", "https://root:pw@vault.internal")]);
        assert!(with_password.contains("credentials"), "{with_password}");
        assert!(!with_password.contains("pw@"), "{with_password}");
        assert!(err(&[("SHENGSHI_KEK_FILE", "/keys/kek.key")]).contains("both are set"));
    }

    #[test]
    fn production_accepts_a_kms_over_https_with_a_private_token_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let (loaded, _) = Config::load(&kms_env(dir.path(), &[]), &Overrides::default()).unwrap();
        let kms = loaded.kms.unwrap();
        let config = Config {
            mode: Mode::Production,
            data_dir: data.clone(),
            public_origin: Some(url::Url::parse("https://gov.example").unwrap()),
            kms: Some(kms.clone()),
            ..Config::default()
        };
        let err = |c: &Config| c.check_production().unwrap_err().to_string();
        let http = Config {
            kms: Some(KmsConfig {
                url: url::Url::parse("http://vault.internal:8200").unwrap(),
                ..kms.clone()
            }),
            ..config.clone()
        };
        assert!(err(&http).contains("must use https"));
        let inside = Config {
            kms: Some(KmsConfig {
                token_file: data.join("token"),
                ..kms.clone()
            }),
            ..config.clone()
        };
        assert!(err(&inside).contains("inside the data directory"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |m| {
                std::fs::set_permissions(&kms.token_file, std::fs::Permissions::from_mode(m))
                    .unwrap()
            };
            mode(0o644);
            assert!(err(&config).contains("chmod 600"));
            mode(0o600);
        }
        config.check_production().unwrap();
    }

    #[test]
    fn production_refuses_unsafe_settings_saying_what() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let base = Config {
            mode: Mode::Production,
            data_dir: data.clone(),
            ..Config::default()
        };
        let err = |c: &Config| c.check_production().unwrap_err().to_string();

        assert!(err(&base).contains("public origin"));
        let with_origin = Config {
            public_origin: Some(url::Url::parse("https://gov.example").unwrap()),
            ..base.clone()
        };
        assert!(err(&with_origin).contains("kek_file"));
        let demo = Config {
            demo: true,
            ..with_origin.clone()
        };
        assert!(err(&demo).contains("demo"));
        let http = Config {
            public_origin: Some(url::Url::parse("http://gov.example").unwrap()),
            ..with_origin.clone()
        };
        assert!(err(&http).contains("https"));
        let inside = Config {
            kek_file: Some(data.join("kek.key")),
            ..with_origin.clone()
        };
        assert!(err(&inside).contains("inside the data directory"));

        let kek = dir.path().join("kek.key");
        std::fs::write(&kek, "x").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o644)).unwrap();
            let loose = Config {
                kek_file: Some(kek.clone()),
                ..with_origin.clone()
            };
            assert!(err(&loose).contains("chmod 600"));
            std::fs::set_permissions(&kek, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let good = Config {
            kek_file: Some(kek),
            ..with_origin
        };
        good.check_production().unwrap();
    }
}
