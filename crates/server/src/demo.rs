//! Demo data: fictional, and only ever in an installation marked as a demo
//! (production refuses such an installation). Each capability adds its own
//! seed here; seeding is idempotent, so restarting a demo changes nothing.
//!
//! The population registry gets [`DEMO_RESIDENTS`] generated residents, every
//! one marked fictional. They are made by a deterministic generator seeded by
//! a constant, so every demo holds the same people and a restart finds them
//! all present. They are **fictional by construction**, not by luck: every ID
//! number uses a Guangdong region code that was abolished (per the shipped
//! GB/T 2260 data) at least a year before the resident's birth date, so no
//! registration office could ever have issued it; the numbers still pass every
//! check, because numbers keep historical codes.

use anyhow::Result;
use shengshi_app::registry::{LifeStatus, MaritalStatus, RegistryRecord};
use shengshi_app::secrets::PlatformSecrets;
use shengshi_app::Services;
use shengshi_domain::identity::{region, RegionStatus, Sex};
use shengshi_domain::{CivilDate, PersonName, RegionCode, ResidentIdNumber};
use std::collections::HashSet;
use time::{Date, Month};

/// How many fictional residents the demo registry holds.
pub const DEMO_RESIDENTS: usize = 10_000;
/// How many of them have a (generated) portrait.
pub const DEMO_PORTRAITS: usize = 12;
/// The generator's seed: changing it changes every demo resident.
const SEED: u64 = 0x5348_454E_4753_4849; // "SHENGSHI"
/// Everyone is born by this date, so every demo resident is an adult.
const LATEST_BIRTH_YEAR: i32 = 2006;

/// What the demo holds, for the start-up message.
#[derive(Clone, Debug, Default)]
pub struct DemoSummary {
    /// Fictional residents in the registry.
    pub fictional_residents: u64,
    /// Two alive residents to try registration with: (name, ID number).
    pub examples: Vec<(String, String)>,
}

/// Seeds what is missing. The registry is seeded when it holds fewer fictional
/// residents than the generator makes (empty, or a seed interrupted part-way):
/// the same residents are written again, and those already present keep
/// their subject and data key, so re-running changes nothing.
pub async fn seed(services: &Services, secrets: &PlatformSecrets) -> Result<DemoSummary> {
    let today = services.clock.today();
    let before = services.store.count_registry_records().await?;
    let people = residents(today);
    if before.fictional < people.len() as u64 {
        let started = std::time::Instant::now();
        let report = shengshi_app::registry_db::upsert_records(services, secrets, &people).await?;
        tracing::info!(
            residents = report.records,
            created = report.created,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "seeded the demo population registry with fictional residents"
        );
    }
    let after = services.store.count_registry_records().await?;
    Ok(DemoSummary {
        fictional_residents: after.fictional,
        examples: people
            .iter()
            .filter(|p| p.life_status == LifeStatus::Alive)
            .take(2)
            .map(|p| (p.name.as_str().to_owned(), p.id_number.as_str().to_owned()))
            .collect(),
    })
}

/// Printed at start-up so a newcomer knows where to go.
pub fn instructions(origin: &str, summary: &DemoSummary) -> String {
    let mut text = format!(
        "Demo mode: every resident here is fictional.\n\
         \x20 Home page:      {origin}/\n\
         \x20 API reference:  {origin}/api/docs/\n\
         \x20 Metrics:        {origin}/metrics\n\
         The population registry holds {} fictional residents (generated; their ID numbers use region codes abolished before their birth, so none belongs to a real person).",
        summary.fictional_residents
    );
    if !summary.examples.is_empty() {
        text.push_str(&format!(
            "\nRegister at {origin}/register and read the SMS codes at {origin}/demo/sms (the demo sends no real messages)."
        ));
        text.push_str("\nTry real-name registration as:");
        for (name, id_number) in &summary.examples {
            text.push_str(&format!("\n  {name}  {id_number}"));
        }
    }
    text
}

/// The demo residents, always the same ones (the date only bounds nothing:
/// every birth date is years in the past).
pub fn residents(today: CivilDate) -> Vec<RegistryRecord> {
    let mut rng = SplitMix64(SEED);
    let origins = origin_regions();
    let homes = home_regions();
    let mut seen = HashSet::new();
    let mut people = Vec::with_capacity(DEMO_RESIDENTS);
    while people.len() < DEMO_RESIDENTS {
        let (code, first_birth_year) = origins[rng.below(origins.len())];
        let sex = if rng.below(2) == 0 {
            Sex::Male
        } else {
            Sex::Female
        };
        let birth = random_date(&mut rng, first_birth_year, LATEST_BIRTH_YEAR);
        let sequence = 2 * rng.below(499) + 1 + usize::from(sex == Sex::Female); // odd men, even women
        let body = format!(
            "{}{:04}{:02}{:02}{sequence:03}",
            code.as_str(),
            birth.year(),
            u8::from(birth.month()),
            birth.day()
        );
        let number = format!("{body}{}", char::from(check_character(body.as_bytes())));
        let Ok(id_number) = ResidentIdNumber::parse(&number, today) else {
            continue; // unreachable: the parts are valid by construction
        };
        if !seen.insert(id_number) {
            continue;
        }
        let name = random_name(&mut rng, sex);
        let age = LATEST_BIRTH_YEAR + 20 - birth.year(); // roughly, as of the mid-2020s
        let marital_status = match rng.below(100) {
            _ if age < 24 && rng.below(10) < 8 => MaritalStatus::Unmarried,
            0..=54 => MaritalStatus::Married,
            55..=84 => MaritalStatus::Unmarried,
            85..=95 => MaritalStatus::Divorced,
            _ => MaritalStatus::Widowed,
        };
        let life_status = match rng.below(1000) {
            0..=14 => LifeStatus::Deceased,
            15..=29 => LifeStatus::Emigrated,
            _ => LifeStatus::Alive,
        };
        let address = random_address(&mut rng, &homes);
        let photo = (people.len() < DEMO_PORTRAITS).then(|| portrait(&mut rng, sex));
        let Ok(name) = PersonName::parse(&name) else {
            continue; // unreachable: names are built from CJK characters
        };
        people.push(RegistryRecord {
            id_number,
            name,
            sex,
            birth_date: CivilDate::new(birth),
            address,
            marital_status,
            life_status,
            photo,
            fictional: true,
        });
    }
    people
}

/// Guangdong county-level codes abolished long enough ago to be safe as birth
/// places of fictional residents: (code, first birth year). Hainan's codes
/// (part of Guangdong until 1988) are left out.
fn origin_regions() -> Vec<(RegionCode, i32)> {
    region::entries()
        .iter()
        .filter(|e| e.status() == RegionStatus::Historical)
        .filter_map(|e| {
            let region = e.code();
            let code = region.as_str();
            let prefecture = &code[..4];
            let last_year: i32 = e.last_seen().get(..4)?.parse().ok()?;
            let usable = code.starts_with("44")
                && !code.ends_with("00")
                && !matches!(prefecture, "4410" | "4411" | "4421" | "4422")
                && e.name() != "市辖区"
                && last_year + 2 <= LATEST_BIRTH_YEAR;
            // Born from January of the second year after the code's last listing.
            usable.then_some((region, last_year + 2))
        })
        .collect()
}

/// Current Guangdong districts and counties with their city, for addresses.
fn home_regions() -> Vec<(&'static str, &'static str)> {
    region::entries()
        .iter()
        .filter(|e| e.status() == RegionStatus::Current && e.name() != "市辖区")
        .filter_map(|e| {
            let code = e.code();
            let code = code.as_str();
            if !code.starts_with("44") || code.ends_with("00") {
                return None;
            }
            let city = region::lookup(&format!("{}00", &code[..4]))?;
            Some((city.name(), e.name()))
        })
        .collect()
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蔡", "蒋", "余", "叶", "程", "苏", "魏", "吕", "丁", "卢", "钟",
    "谭", "陆", "范", "廖", "莫", "邱", "欧阳", "司徒", "麦", "冼", "区", "温", "赖", "洪",
];
const GIVEN_MALE: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "辉", "鹏", "华", "飞", "波",
    "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "阳", "建", "国", "志", "文", "海", "东",
    "晨", "峰", "家", "子", "轩", "博", "睿", "泽", "毅", "荣", "锦", "耀", "伦", "康",
];
const GIVEN_FEMALE: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "桂", "英", "萍", "红", "燕", "婷",
    "雪", "琳", "慧", "颖", "洁", "佳", "倩", "欣", "怡", "雨", "晴", "梦", "琪", "思", "涵", "诗",
    "悦", "婉", "嘉", "瑶", "彤", "妍", "淑", "惠", "月", "蓉",
];
const STREETS: &[&str] = &[
    "中山", "解放", "人民", "建设", "东风", "环市", "新港", "沿江", "滨江", "工业", "文明", "光明",
    "五一", "花园", "朝阳", "迎宾", "青年", "学府", "海滨", "新华",
];
const STREET_KINDS: &[&str] = &["路", "大道", "街", "北路", "南路", "东路", "西路"];

fn random_name(rng: &mut SplitMix64, sex: Sex) -> String {
    let given = match sex {
        Sex::Male => GIVEN_MALE,
        Sex::Female => GIVEN_FEMALE,
    };
    let mut name = String::from(SURNAMES[rng.below(SURNAMES.len())]);
    name.push_str(given[rng.below(given.len())]);
    if rng.below(10) < 7 {
        name.push_str(given[rng.below(given.len())]);
    }
    name
}

fn random_address(rng: &mut SplitMix64, homes: &[(&str, &str)]) -> String {
    let (city, district) = homes[rng.below(homes.len())];
    format!(
        "广东省{city}{district}{}{}{}号{}栋{}房",
        STREETS[rng.below(STREETS.len())],
        STREET_KINDS[rng.below(STREET_KINDS.len())],
        1 + rng.below(300),
        1 + rng.below(30),
        100 * (1 + rng.below(30)) + 1 + rng.below(8),
    )
}

fn random_date(rng: &mut SplitMix64, first_year: i32, last_year: i32) -> Date {
    let first = Date::from_calendar_date(first_year, Month::January, 1).unwrap_or(Date::MIN);
    let last = Date::from_calendar_date(last_year, Month::December, 31).unwrap_or(Date::MIN);
    let days = (last - first).whole_days().max(0) as usize;
    first + time::Duration::days(rng.below(days + 1) as i64)
}

/// GB 11643-1999 check character (ISO 7064 MOD 11-2) of 17 ASCII digits.
fn check_character(body: &[u8]) -> u8 {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .iter()
        .zip(WEIGHTS)
        .map(|(&d, w)| u32::from(d - b'0') * w)
        .sum();
    b"10X98765432"[(sum % 11) as usize]
}

/// SplitMix64: tiny, fast, and fixed forever (a library generator may change
/// its algorithm between versions, which would change the demo's people).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

// ---------------------------------------------------------------------------
// Portraits: small PNGs drawn here (a head and shoulders on a coloured ground).

const SIDE: usize = 64;

fn portrait(rng: &mut SplitMix64, sex: Sex) -> Vec<u8> {
    let background = [
        [0xDD, 0xE8, 0xF5],
        [0xF5, 0xE6, 0xDA],
        [0xE3, 0xF2, 0xE1],
        [0xEE, 0xE4, 0xF4],
    ][rng.below(4)];
    let skin = [[0xF1, 0xC2, 0x9A], [0xE0, 0xAC, 0x7E], [0xC6, 0x8E, 0x62]][rng.below(3)];
    let hair = [[0x1E, 0x1A, 0x18], [0x3B, 0x2A, 0x20], [0x55, 0x45, 0x3A]][rng.below(3)];
    let clothes = [
        [0x2F, 0x4F, 0x8F],
        [0x8F, 0x2F, 0x3F],
        [0x2F, 0x7F, 0x5F],
        [0x5F, 0x5F, 0x6F],
    ][rng.below(4)];
    let long_hair = sex == Sex::Female;
    let mut pixels = vec![0u8; SIDE * SIDE * 3];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (fx, fy) = (x as f32 - 32.0, y as f32);
            let head = (fx / 13.0).powi(2) + ((fy - 26.0) / 16.0).powi(2) <= 1.0;
            let hair_cap = (fx / 15.0).powi(2) + ((fy - 22.0) / 16.0).powi(2) <= 1.0
                && (fy < 18.0 || (long_hair && fy < 40.0 && fx.abs() > 10.0));
            let shoulders = fy > 46.0 && (fx / 28.0).powi(2) + ((fy - 64.0) / 20.0).powi(2) <= 1.0;
            let colour = if hair_cap {
                hair
            } else if head {
                skin
            } else if shoulders {
                clothes
            } else {
                background
            };
            pixels[(y * SIDE + x) * 3..][..3].copy_from_slice(&colour);
        }
    }
    png_rgb(SIDE, SIDE, &pixels)
}

/// A PNG (8-bit RGB) with its image data in stored (uncompressed) deflate
/// blocks: valid, and small enough at 64×64.
fn png_rgb(width: usize, height: usize, rgb: &[u8]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(height * (1 + width * 3));
    for row in rgb.chunks(width * 3) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut zlib = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    while let Some(block) = blocks.next() {
        zlib.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    for (kind, data) in [
        (b"IHDR", &ihdr[..]),
        (b"IDAT", &zlib[..]),
        (b"IEND", &[][..]),
    ] {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let crc = crc32(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    png
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> CivilDate {
        CivilDate::new(time::macros::date!(2026 - 01 - 01))
    }

    #[test]
    fn the_generator_is_deterministic_and_makes_valid_distinct_residents() {
        let a = residents(today());
        let b = residents(today());
        assert_eq!(a.len(), DEMO_RESIDENTS);
        assert_eq!(a, b);
        let numbers: HashSet<_> = a.iter().map(|p| p.id_number).collect();
        assert_eq!(numbers.len(), DEMO_RESIDENTS);
        for p in &a {
            assert!(p.fictional);
            assert_eq!(p.sex, p.id_number.sex());
            assert_eq!(p.birth_date, p.id_number.birth_date());
            assert!(p.address.starts_with("广东省"));
            let entry = p.id_number.region_code().entry().unwrap();
            assert_eq!(entry.status(), RegionStatus::Historical);
            // Fictional by construction: the code was gone before the birth.
            let last_year: i32 = entry.last_seen()[..4].parse().unwrap();
            assert!(p.birth_date.date().year() > last_year + 1);
        }
        let count = |s| a.iter().filter(|p| p.life_status == s).count();
        assert!(count(LifeStatus::Deceased) > 50 && count(LifeStatus::Emigrated) > 50);
        let married = a
            .iter()
            .filter(|p| p.marital_status == MaritalStatus::Married)
            .count();
        assert!(married > 3000 && married < 7000, "{married}");
        assert_eq!(
            a.iter().filter(|p| p.photo.is_some()).count(),
            DEMO_PORTRAITS
        );
    }

    #[test]
    fn portraits_are_well_formed_pngs() {
        let png = portrait(&mut SplitMix64(1), Sex::Female);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&png[12..16], b"IHDR");
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82])); // the CRC of an empty IEND
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
