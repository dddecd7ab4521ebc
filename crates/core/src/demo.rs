//! Demo data: a believable B2B SaaS portfolio (users, customers, stakeholders, contracts and
//! entitlements) for trying CSCX out, screenshots and load tests.
//!
//! Everything is derived from `SeedOptions::seed` with a small PRNG of our own and ids hashed
//! from (seed, kind, index), so the same seed gives the same portfolio on every machine and a
//! second run finds every customer already there and adds nothing. Only dates move: they are
//! relative to the clock's today, so renewals always lie ahead.

use std::collections::HashSet;
use std::fmt;

use chrono::{Duration, Months, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use cscx_domain::validate::SENTIMENTS;
use cscx_domain::{Role, Stage};
use cscx_store::model::{Contract, Customer, Entitlement, Stakeholder};
use cscx_store::{entity, Id, Money, Timestamp, Tx};

use crate::error::CoreResult;
use crate::App;

pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.cscx.dev";

/// Customers written per transaction: large enough that 10,000 customers load in seconds,
/// small enough that a transaction never holds the write lock for long.
const BATCH: u32 = 500;

#[derive(Clone)]
pub struct SeedOptions {
    pub customers: u32,
    pub seed: u64,
    /// Password of the newly created sign-in users (the admin, the first CSM and the manager);
    /// without one they can only own API tokens.
    pub admin_password: Option<String>,
    /// Days of product usage to generate per customer (0 = none), so health scores and risk
    /// signals have something to show.
    pub usage_days: u32,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            customers: 40,
            seed: 7,
            admin_password: None,
            usage_days: 60,
        }
    }
}

// Written by hand so the admin password never ends up in a log line.
impl fmt::Debug for SeedOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedOptions")
            .field("customers", &self.customers)
            .field("seed", &self.seed)
            .field("usage_days", &self.usage_days)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SeedReport {
    pub users_created: u32,
    pub customers_created: u32,
    pub customers_skipped: u32,
    pub stakeholders_created: u32,
    pub contracts_created: u32,
    pub entitlements_created: u32,
    pub admin_email: String,
    pub admin_created: bool,
    pub usage_events: usize,
    /// The users who can sign in with the demo password: (e-mail, role).
    pub logins: Vec<(String, String)>,
}

// ---------------------------------------------------------------------------------------------
// Word lists

/// The five CSMs who own the accounts, round-robin: (e-mail, name).
const DEMO_CSMS: [(&str, &str); 5] = [
    ("maya.chen@demo.cscx.dev", "Maya Chen"),
    ("jordan.ellis@demo.cscx.dev", "Jordan Ellis"),
    ("priya.raman@demo.cscx.dev", "Priya Raman"),
    ("lucas.moreau@demo.cscx.dev", "Lucas Moreau"),
    ("sofia.alvarez@demo.cscx.dev", "Sofia Alvarez"),
];

/// The other demo users: (e-mail, name, role).
#[rustfmt::skip]
const DEMO_OTHERS: [(&str, &str, Role); 2] = [
    ("daniel.okafor@demo.cscx.dev", "Daniel Okafor", Role::Manager),
    ("emma.lindqvist@demo.cscx.dev", "Emma Lindqvist", Role::Viewer),
];

/// Company brands are a head and a tail ("North" + "wind") or a standalone word.
const BRAND_HEADS: &[&str] = &[
    "North", "Bright", "Blue", "Silver", "Clear", "Iron", "Stone", "Red", "Green", "High", "Oak",
    "Pine", "Cedar", "Golden", "East", "West", "River", "Lake", "Sun", "Fair",
];
const BRAND_TAILS: &[&str] = &[
    "wind", "path", "peak", "line", "water", "wood", "bridge", "field", "brook", "gate", "ridge",
    "view", "point", "haven", "crest", "vale", "light", "mark",
];
const BRAND_WORDS: &[&str] = &[
    "Meridian", "Keystone", "Vantage", "Polaris", "Zenith", "Sterling", "Cobalt", "Juniper",
    "Aspen", "Beacon", "Horizon", "Summit", "Granite", "Atlas",
];

/// Industries: name, cards in the 20-card industry deck (software is the most common; each
/// industry appears in every 20 customers), and the words that end a company name in it.
#[rustfmt::skip]
const INDUSTRIES: &[(&str, u32, &[&str])] = &[
    ("software", 4, &["Software", "Labs", "Systems", "Cloud", "Analytics", "Technologies"]),
    ("healthcare", 2, &["Health", "Medical", "Care", "Diagnostics", "Clinics"]),
    ("financial services", 2, &["Financial", "Capital", "Payments", "Insurance", "Wealth"]),
    ("retail", 2, &["Retail", "Outfitters", "Markets", "Goods", "Apparel"]),
    ("manufacturing", 2, &["Manufacturing", "Industries", "Components", "Fabrication", "Materials"]),
    ("logistics", 2, &["Logistics", "Freight", "Shipping", "Transport", "Distribution"]),
    ("education", 1, &["Learning", "Academy", "Education", "Institute"]),
    ("media", 1, &["Media", "Studios", "Publishing", "Broadcasting"]),
    ("hospitality", 1, &["Hotels", "Hospitality", "Resorts", "Travel"]),
    ("energy", 1, &["Energy", "Power", "Solar", "Utilities"]),
    ("real estate", 1, &["Properties", "Realty", "Estates"]),
    ("telecommunications", 1, &["Telecom", "Networks", "Communications", "Wireless"]),
];

const FIRST_NAMES: &[&str] = &[
    "Olivia", "Liam", "Amara", "Noah", "Sofia", "Mateo", "Hannah", "Ethan", "Aisha", "Lucas",
    "Chloe", "Kenji", "Grace", "Omar", "Isabel", "Ravi", "Julia", "Samuel", "Mei", "Daniel",
    "Fatima", "Jonas", "Elena", "Marcus", "Leah", "Tomás", "Nina", "Arjun", "Clara", "David",
    "Zoe", "Felix", "Ingrid", "Kwame", "Laura", "Victor", "Yuki", "Adrian", "Rosa", "Henry",
];
#[rustfmt::skip]
const LAST_NAMES: &[&str] = &[
    "Anderson", "Okoye", "Nakamura", "Fischer", "Patel", "Garcia", "Johansson", "Kim", "Dubois",
    "Rossi", "Novak", "Mensah", "Schmidt", "Hughes", "Kowalski", "Silva", "Brennan", "Haddad",
    "Larsen", "Murphy", "Tanaka", "Costa", "Walsh", "Ahmed", "Bauer", "Reyes", "Lindgren",
    "Sato", "Morgan", "Petrov", "Nguyen", "Foster", "Mendes", "Jansen", "Cohen", "Alvarez",
    "Sullivan", "Varga", "Bianchi", "Osei",
];

const STAKEHOLDER_ROLES: &[&str] = &[
    "VP Customer Success",
    "Head of Operations",
    "IT Admin",
    "Finance Director",
    "Executive Sponsor",
    "Director of Engineering",
    "Procurement Manager",
    "Product Owner",
    "Chief Operating Officer",
    "Support Team Lead",
];

/// Notes by sentiment, in the order of `SENTIMENTS` (positive, neutral, negative, unknown).
const NOTES: [&[&str]; 4] = [
    &[
        "Champion for the rollout; offered to act as a reference customer.",
        "Very engaged in QBRs and asks for early access to new features.",
        "Sponsored the expansion to a second team last quarter.",
    ],
    &[
        "Prefers e-mail over calls; a monthly check-in is enough.",
        "New in the role since last quarter; still learning the product.",
        "Joins QBRs but rarely comments.",
    ],
    &[
        "Raised concerns about support response times.",
        "Questions the renewal price and has asked about alternatives.",
        "Frustrated by the slow data sync; escalated twice.",
    ],
    &[
        "Not met yet; introduced by the primary contact.",
        "No engagement in the last 90 days.",
    ],
];

// ---------------------------------------------------------------------------------------------
// Decks: exact mixes per block of customers
//
// Drawing each customer independently could leave 40 customers without a single churned one.
// Instead every block of customers gets exactly the cards of a deck, shuffled per block, so
// each stage, segment and industry appears in every block in the proportions below.

/// 20 cards: mostly active, every other stage at least twice.
const STAGE_DECK: &[(Stage, u32)] = &[
    (Stage::Active, 11),
    (Stage::Onboarding, 3),
    (Stage::AtRisk, 2),
    (Stage::Prospect, 2),
    (Stage::Churned, 2),
];

/// Enterprise accounts are the rare, large ones.
const SEGMENT_DECK: &[(Segment, u32)] = &[
    (Segment::Enterprise, 3),
    (Segment::MidMarket, 7),
    (Segment::Smb, 10),
];

/// Days until renewal for active and at-risk accounts: one in ten renews within each of the
/// next 30, 31–60 and 61–90 days, the rest later in the year.
const RENEWAL_DECK: &[((i64, i64), u32)] =
    &[((1, 30), 1), ((31, 60), 1), ((61, 90), 1), ((91, 365), 7)];

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/// splitmix64: tiny and fully specified, so a seed yields the same data on every build
/// (`rand` does not promise stable sequences across versions).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (the modulo bias is far below anything a demo could show).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.next_u64() as usize % items.len()]
    }

    /// An index drawn with the given relative weights.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| w as u64).sum();
        let mut roll = self.next_u64() % total;
        for (i, &w) in weights.iter().enumerate() {
            if roll < w as u64 {
                return i;
            }
            roll -= w as u64;
        }
        unreachable!("roll is below the total weight")
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.next_u64() as usize % (i + 1);
            items.swap(i, j);
        }
    }
}

/// Hash of (seed, kind, index). Every random stream and every id starts from one, so a record
/// depends only on its own coordinates, not on how many records were generated before it.
fn hash(seed: u64, kind: &str, index: u64) -> u64 {
    let mut h = SplitMix64(seed).next_u64();
    for b in kind.bytes() {
        h = SplitMix64(h ^ b as u64).next_u64();
    }
    SplitMix64(h ^ index).next_u64()
}

pub(crate) fn stream(seed: u64, kind: &str, index: u64) -> SplitMix64 {
    SplitMix64(hash(seed, kind, index))
}

/// A stable UUID (version 8, "custom") for the `index`-th record of `kind`.
fn demo_id(seed: u64, kind: &str, index: u64) -> Id {
    let mut r = stream(seed, kind, index);
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&r.next_u64().to_be_bytes());
    b[8..].copy_from_slice(&r.next_u64().to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x80; // version 8
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    Id(uuid::Uuid::from_bytes(b))
}

/// Index of the `n`-th child record of customer `index` (a customer has at most a handful).
fn child(index: u32, n: usize) -> u64 {
    ((index as u64) << 8) | n as u64
}

/// The id the demo gives its `index`-th customer (0-based) for `seed`.
pub fn customer_id(seed: u64, index: u32) -> Id {
    demo_id(seed, "customer", index as u64)
}

/// The card a deck deals to customer `index`: the deck is shuffled once per block.
fn deal<T: Copy>(seed: u64, deck_name: &str, index: u32, deck: &[(T, u32)]) -> T {
    let mut cards: Vec<T> = deck
        .iter()
        .flat_map(|&(card, n)| std::iter::repeat_n(card, n as usize))
        .collect();
    let block = index as usize / cards.len();
    stream(seed, deck_name, block as u64).shuffle(&mut cards);
    cards[index as usize % cards.len()]
}

// ---------------------------------------------------------------------------------------------
// Customer plans: everything about a customer that does not need the database

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Enterprise,
    MidMarket,
    Smb,
}

impl Segment {
    fn as_str(self) -> &'static str {
        match self {
            Segment::Enterprise => "enterprise",
            Segment::MidMarket => "mid_market",
            Segment::Smb => "smb",
        }
    }

    /// ARR in dollars.
    fn arr_range(self) -> (i64, i64) {
        match self {
            Segment::Enterprise => (120_000, 900_000),
            Segment::MidMarket => (30_000, 150_000),
            Segment::Smb => (5_000, 30_000),
        }
    }

    fn employees_range(self) -> (i64, i64) {
        match self {
            Segment::Enterprise => (2_000, 60_000),
            Segment::MidMarket => (200, 2_000),
            Segment::Smb => (15, 200),
        }
    }

    fn stakeholders_range(self) -> (i64, i64) {
        match self {
            Segment::Enterprise => (3, 5),
            Segment::MidMarket => (2, 4),
            Segment::Smb => (2, 3),
        }
    }

    /// List price of one seat per month, in dollars.
    fn seat_price_range(self) -> (i64, i64) {
        match self {
            Segment::Enterprise => (55, 110),
            Segment::MidMarket => (35, 75),
            Segment::Smb => (19, 45),
        }
    }

    /// Monthly API allowance in blocks of 100,000 calls.
    fn api_blocks_range(self) -> (i64, i64) {
        match self {
            Segment::Enterprise => (50, 500),
            Segment::MidMarket => (10, 100),
            Segment::Smb => (1, 10),
        }
    }

    /// Percent chance of buying the API allowance and the SSO add-on.
    fn add_on_chances(self) -> (u64, u64) {
        match self {
            Segment::Enterprise => (70, 80),
            Segment::MidMarket => (50, 40),
            Segment::Smb => (25, 10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    NorthAmerica,
    Emea,
    Apac,
}

impl Region {
    fn as_str(self) -> &'static str {
        match self {
            Region::NorthAmerica => "North America",
            Region::Emea => "EMEA",
            Region::Apac => "APAC",
        }
    }

    /// A number from a range reserved for fiction, so nobody real gets called.
    fn phone(self, rng: &mut SplitMix64) -> String {
        match self {
            Region::NorthAmerica => format!("+1 555-01{:02}", rng.range(0, 99)),
            Region::Emea => format!("+44 20 7946 0{:03}", rng.range(0, 999)),
            Region::Apac => format!("+61 2 5550 {:04}", rng.range(0, 9999)),
        }
    }
}

/// One demo customer, decided before anything is written.
#[derive(Debug, Clone)]
struct Plan {
    seed: u64,
    index: u32,
    id: Id,
    name: String,
    /// Lowercase words joined by hyphens, for file names.
    slug: String,
    /// The e-mail domain of its people, under the reserved `.example` TLD so demo data can
    /// never mail a real company.
    domain: String,
    industry: &'static str,
    segment: Segment,
    stage: Stage,
    region: Region,
    employees: i64,
    /// Whole dollars; `None` for prospects.
    arr: Option<i64>,
    health: Option<i32>,
    renewal: Option<NaiveDate>,
}

/// Plans customers in index order; remembers the names handed out so each is unique.
struct Planner {
    seed: u64,
    today: NaiveDate,
    names: HashSet<String>,
}

impl Planner {
    fn new(seed: u64, today: NaiveDate) -> Planner {
        Planner {
            seed,
            today,
            names: HashSet::new(),
        }
    }

    fn plan(&mut self, index: u32) -> Plan {
        let seed = self.seed;
        let mut rng = stream(seed, "customer-plan", index as u64);
        let stage = deal(seed, "stage", index, STAGE_DECK);
        let segment = deal(seed, "segment", index, SEGMENT_DECK);
        let industry_deck: Vec<_> = INDUSTRIES
            .iter()
            .map(|&(name, cards, words)| ((name, words), cards))
            .collect();
        let (industry, industry_words) = deal(seed, "industry", index, &industry_deck);
        let name = self.company_name(index, industry_words);
        let region =
            [Region::NorthAmerica, Region::Emea, Region::Apac][rng.weighted(&[55, 30, 15])];
        let (lo, hi) = segment.employees_range();
        let employees = rng.range(lo, hi);

        // The lower of two draws: big deals are rarer than small ones within a segment.
        let (lo, hi) = segment.arr_range();
        let hundreds = rng
            .range(lo / 100, hi / 100)
            .min(rng.range(lo / 100, hi / 100));
        let arr = (stage != Stage::Prospect).then_some(hundreds * 100);

        let health = match stage {
            Stage::Prospect => None,
            Stage::Onboarding => Some(rng.range(50, 80)),
            Stage::Active => Some(rng.range(55, 95)),
            Stage::AtRisk => Some(rng.range(20, 49)),
            Stage::Churned => Some(rng.range(5, 35)),
        }
        .map(|h| h as i32);

        let days_ahead = match stage {
            Stage::Prospect => None,
            // Signed recently, so the first renewal is most of a year away.
            Stage::Onboarding => Some(rng.range(270, 365)),
            Stage::Active | Stage::AtRisk => {
                let (lo, hi) = deal(seed, "renewal", index, RENEWAL_DECK);
                Some(rng.range(lo, hi))
            }
            // Churned at their last renewal, some time in the past half year.
            Stage::Churned => Some(-rng.range(1, 180)),
        };
        let renewal = days_ahead.map(|d| self.today + Duration::days(d));

        let slug = name
            .to_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let domain = format!("{}.example", slug.replace('-', ""));
        Plan {
            seed,
            index,
            id: customer_id(seed, index),
            name,
            slug,
            domain,
            industry,
            segment,
            stage,
            region,
            employees,
            arr,
            health,
            renewal,
        }
    }

    /// "<Brand> <industry word>", unique among the names planned so far.
    fn company_name(&mut self, index: u32, industry_words: &[&str]) -> String {
        let mut rng = stream(self.seed, "company-name", index as u64);
        let mut candidate = || {
            let brand = if rng.chance(85) {
                format!("{}{}", rng.pick(BRAND_HEADS), rng.pick(BRAND_TAILS))
            } else {
                rng.pick(BRAND_WORDS).to_owned()
            };
            format!("{brand} {}", rng.pick(industry_words))
        };
        // A few fresh draws almost always find a free name; only thousands of customers
        // exhaust the combinations and need a number.
        let mut name = candidate();
        for _ in 0..8 {
            if !self.names.contains(&name) {
                break;
            }
            name = candidate();
        }
        if self.names.contains(&name) {
            name = (2..)
                .map(|n| format!("{name} {n}"))
                .find(|n| !self.names.contains(n))
                .expect("some number is free");
        }
        self.names.insert(name.clone());
        name
    }
}

// ---------------------------------------------------------------------------------------------
// Records

fn dollars(amount: i64) -> Money {
    Money(Decimal::from(amount))
}

fn customer_record(p: &Plan, csm_id: Option<Id>, now: Timestamp) -> Customer {
    let mut rng = stream(p.seed, "customer-crm", p.index as u64);
    const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    // "001" is Salesforce's key prefix for Account records.
    let salesforce_id: String = "001"
        .chars()
        .chain((0..15).map(|_| rng.pick(ALPHANUMERIC) as char))
        .collect();
    // Prospects mostly arrive through marketing, so more of them are known to HubSpot.
    let hubspot_chance = if p.stage == Stage::Prospect { 70 } else { 35 };
    let hubspot_id = rng
        .chance(hubspot_chance)
        .then(|| rng.range(1_000_000_000, 29_999_999_999).to_string());
    Customer {
        id: p.id,
        name: p.name.clone(),
        arr: p.arr.map(dollars),
        industry: Some(p.industry.to_owned()),
        stage: p.stage.into(),
        health_score: p.health,
        csm_id,
        salesforce_id: Some(salesforce_id),
        hubspot_id,
        segment: Some(p.segment.as_str().to_owned()),
        renewal_date: p.renewal,
        metadata: json!({
            "demo": true,
            "external_id": format!("acct-{}", p.index + 1),
            "employees": p.employees,
            "region": p.region.as_str(),
            "domain": p.domain,
        }),
        created_at: now,
        updated_at: now,
        health_band: p
            .health
            .map(|s| cscx_domain::health::grade(&Default::default(), s).into()),
    }
}

fn stakeholder_records(p: &Plan, now: Timestamp) -> Vec<Stakeholder> {
    let mut rng = stream(p.seed, "stakeholders", p.index as u64);
    let (lo, hi) = p.segment.stakeholders_range();
    let count = rng.range(lo, hi) as usize;
    let mut roles = STAKEHOLDER_ROLES.to_vec();
    rng.shuffle(&mut roles);
    // Weights in `SENTIMENTS` order: positive, neutral, negative, unknown.
    let sentiment_weights: [u32; 4] = match p.stage {
        Stage::Prospect => [30, 30, 5, 35],
        Stage::Onboarding => [50, 35, 5, 10],
        Stage::Active => [50, 35, 7, 8],
        Stage::AtRisk => [15, 35, 40, 10],
        Stage::Churned => [5, 30, 55, 10],
    };
    let mut used_names = HashSet::new();
    (0..count)
        .map(|n| {
            let (first, last) = loop {
                let pair = (rng.pick(FIRST_NAMES), rng.pick(LAST_NAMES));
                if used_names.insert(pair) {
                    break pair;
                }
            };
            // Mailbox names are plain ASCII even when the display name is not (Tomás).
            let local = format!("{first}.{last}").to_lowercase().replace('á', "a");
            let sentiment = rng.weighted(&sentiment_weights);
            Stakeholder {
                id: demo_id(p.seed, "stakeholder", child(p.index, n)),
                customer_id: p.id,
                name: format!("{first} {last}"),
                role: Some(roles[n].to_owned()),
                email: Some(format!("{local}@{}", p.domain)),
                phone: rng.chance(60).then(|| p.region.phone(&mut rng)),
                linkedin_url: None,
                // The first contact drawn is the main one; exactly one per customer.
                is_primary: n == 0,
                sentiment: Some(SENTIMENTS[sentiment].to_owned()),
                notes: rng
                    .chance(40)
                    .then(|| rng.pick(NOTES[sentiment]).to_owned()),
                metadata: json!({ "demo": true }),
                created_at: now,
                updated_at: now,
            }
        })
        .collect()
}

/// One line of an order form; also becomes one entitlement.
#[derive(Debug, Clone)]
struct LineItem {
    name: &'static str,
    description: &'static str,
    category: &'static str,
    unit: &'static str,
    quantity: i32,
    unit_price: Decimal,
}

impl LineItem {
    fn total(&self) -> Decimal {
        (self.unit_price * Decimal::from(self.quantity)).normalize()
    }
}

/// What the customer's contract sells: seats and support always, API calls and SSO for some.
/// The lines add up to the ARR exactly: seats take what the others leave, and the support
/// plan absorbs the remainder smaller than one seat (a negotiated price).
fn line_items(p: &Plan) -> Vec<LineItem> {
    let Some(arr) = p.arr else {
        return Vec::new();
    };
    let mut rng = stream(p.seed, "line-items", p.index as u64);
    let percent_of_arr = |pct: i64| (arr * pct / 100 / 100) * 100;
    let (api_chance, sso_chance) = p.segment.add_on_chances();

    let support_base = percent_of_arr(rng.range(8, 14));
    let sso = rng
        .chance(sso_chance)
        .then(|| percent_of_arr(rng.range(4, 7)).max(600));
    // Priced per call of monthly allowance, in ten-thousandths of a dollar per year.
    let api = rng.chance(api_chance).then(|| {
        let (lo, hi) = p.segment.api_blocks_range();
        let calls = rng.range(lo, hi) * 100_000;
        let target = percent_of_arr(rng.range(5, 10));
        let price = (target * 10_000 / calls).max(1);
        (calls, price, calls * price / 10_000)
    });

    let (lo, hi) = p.segment.seat_price_range();
    let seat_price = rng.range(lo, hi) * 12;
    let seat_budget = arr - support_base - sso.unwrap_or(0) - api.map_or(0, |(_, _, total)| total);
    let seats = (seat_budget / seat_price).max(1);
    let support =
        arr - sso.unwrap_or(0) - api.map_or(0, |(_, _, total)| total) - seats * seat_price;

    let mut items = vec![LineItem {
        name: "Platform seats",
        description: "Named users with full access to the platform",
        category: "license",
        unit: "seat",
        quantity: seats as i32,
        unit_price: Decimal::from(seat_price),
    }];
    items.push(if p.segment == Segment::Smb {
        LineItem {
            name: "Standard support",
            description: "Business-hours support with an 8-hour first response",
            category: "support",
            unit: "plan",
            quantity: 1,
            unit_price: Decimal::from(support),
        }
    } else {
        LineItem {
            name: "Premium support",
            description: "24/7 support, a named support engineer and a 1-hour P1 response",
            category: "support",
            unit: "plan",
            quantity: 1,
            unit_price: Decimal::from(support),
        }
    });
    if let Some((calls, price, _)) = api {
        items.push(LineItem {
            name: "API calls",
            description: "Monthly API call allowance; overage is billed quarterly",
            category: "usage",
            unit: "call/month",
            quantity: calls as i32,
            unit_price: Decimal::new(price, 4),
        });
    }
    if let Some(price) = sso {
        items.push(LineItem {
            name: "SSO add-on",
            description: "SAML single sign-on and SCIM user provisioning",
            category: "add-on",
            unit: "plan",
            quantity: 1,
            unit_price: Decimal::from(price),
        });
    }
    items
}

/// The signed order form of every customer past the prospect stage.
fn contract_record(p: &Plan, items: &[LineItem], now: Timestamp) -> Option<Contract> {
    let (arr, renewal) = (p.arr?, p.renewal?);
    let mut rng = stream(p.seed, "contract", p.index as u64);
    let line_items: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "name": i.name,
                "quantity": i.quantity,
                "unit": i.unit,
                "unit_price": Money(i.unit_price),
                "total": Money(i.total()),
            })
        })
        .collect();
    let payment_terms = if p.segment == Segment::Enterprise {
        "Net 45"
    } else {
        "Net 30"
    };
    Some(Contract {
        id: demo_id(p.seed, "contract", p.index as u64),
        customer_id: Some(p.id),
        file_url: None,
        file_name: Some(format!("{}-order-form.pdf", p.slug)),
        raw_text: None,
        company_name: Some(p.name.clone()),
        arr: Some(dollars(arr)),
        contract_term: Some("12 months".into()),
        start_date: renewal.checked_sub_months(Months::new(12)),
        end_date: Some(renewal),
        status: if p.stage == Stage::Churned {
            "expired"
        } else {
            "active"
        }
        .into(),
        parsed_data: None,
        pricing_terms: Some(json!({
            "currency": "USD",
            "billing_frequency": "annual",
            "payment_terms": payment_terms,
            "auto_renew": p.segment == Segment::Smb || rng.chance(50),
            "line_items": line_items,
            "total": dollars(arr),
        })),
        technical_requirements: None,
        missing_info: None,
        next_steps: None,
        created_at: now,
        updated_at: now,
    })
}

fn entitlement_records(
    p: &Plan,
    contract_id: Id,
    items: &[LineItem],
    now: Timestamp,
) -> Vec<Entitlement> {
    items
        .iter()
        .enumerate()
        .map(|(n, i)| Entitlement {
            id: demo_id(p.seed, "entitlement", child(p.index, n)),
            contract_id,
            name: i.name.to_owned(),
            description: Some(i.description.to_owned()),
            quantity: Some(i.quantity),
            unit: Some(i.unit.to_owned()),
            price: Some(Money(i.unit_price)),
            category: Some(i.category.to_owned()),
            metadata: json!({ "demo": true, "line_total": Money(i.total()) }),
            created_at: now,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Seeding

/// Creates the user unless one with this e-mail exists; returns its id and whether it is new.
/// An existing user is left exactly as it is (no password reset).
async fn ensure_user(
    app: &App,
    email: &str,
    name: &str,
    role: Role,
    password: Option<&str>,
) -> CoreResult<(Id, bool)> {
    if let Some(user) = app.auth.user_by_email(email).await? {
        return Ok((user.id, false));
    }
    let user = app
        .auth
        .create_user(
            email,
            Some(name),
            role,
            password,
            &crate::audit::Actor::system(),
        )
        .await?;
    Ok((user.id, true))
}

/// Writes one customer with its stakeholders, contract and entitlements.
async fn insert_customer(
    tx: &mut Tx<'_>,
    p: &Plan,
    csm_id: Option<Id>,
    now: Timestamp,
    report: &mut SeedReport,
) -> CoreResult<()> {
    entity::insert(tx.c(), &customer_record(p, csm_id, now)).await?;
    report.customers_created += 1;
    for s in stakeholder_records(p, now) {
        entity::insert(tx.c(), &s).await?;
        report.stakeholders_created += 1;
    }
    let items = line_items(p);
    if let Some(contract) = contract_record(p, &items, now) {
        entity::insert(tx.c(), &contract).await?;
        report.contracts_created += 1;
        for e in entitlement_records(p, contract.id, &items, now) {
            entity::insert(tx.c(), &e).await?;
            report.entitlements_created += 1;
        }
    }
    Ok(())
}

/// Loads the demo portfolio. Safe to run again: existing users and customers are left alone.
pub async fn seed(app: &App, opts: &SeedOptions) -> CoreResult<SeedReport> {
    let mut report = SeedReport {
        admin_email: DEMO_ADMIN_EMAIL.to_owned(),
        ..SeedReport::default()
    };

    // Users first, each on its own connection: the customer transactions below hold SQLite's
    // write lock, which user creation would otherwise wait for.
    let (admin_id, admin_created) = ensure_user(
        app,
        DEMO_ADMIN_EMAIL,
        "Demo Admin",
        Role::Admin,
        opts.admin_password.as_deref(),
    )
    .await?;
    report.admin_created = admin_created;
    report.users_created += admin_created as u32;
    let password = opts.admin_password.as_deref();
    if password.is_some() {
        report
            .logins
            .push((DEMO_ADMIN_EMAIL.to_owned(), Role::Admin.to_string()));
    }
    // The first CSM and the manager sign in too, so each role's view can be tried.
    let mut csm_ids = Vec::with_capacity(DEMO_CSMS.len());
    for (i, (email, name)) in DEMO_CSMS.iter().enumerate() {
        let pw = password.filter(|_| i == 0);
        let (id, created) = ensure_user(app, email, name, Role::Csm, pw).await?;
        csm_ids.push(id);
        report.users_created += created as u32;
        if pw.is_some() {
            report
                .logins
                .push(((*email).to_owned(), Role::Csm.to_string()));
        }
    }
    for (email, name, role) in DEMO_OTHERS {
        let pw = password.filter(|_| role == Role::Manager);
        let (_, created) = ensure_user(app, email, name, role, pw).await?;
        report.users_created += created as u32;
        if pw.is_some() {
            report.logins.push((email.to_owned(), role.to_string()));
        }
    }

    let now = app.now();
    let today = app.clock.now().date_naive();
    // Every customer is planned, skipped or not, so names stay the same as in earlier runs.
    let mut planner = Planner::new(opts.seed, today);
    let mut start = 0;
    while start < opts.customers {
        let end = opts.customers.min(start.saturating_add(BATCH));
        let mut tx = app.db.begin().await?;
        for index in start..end {
            let plan = planner.plan(index);
            if entity::get::<Customer>(tx.c(), plan.id).await?.is_some() {
                report.customers_skipped += 1;
                continue;
            }
            // Prospects are still with sales; nobody in CS owns them yet. Every tenth account
            // is the admin's, so "my accounts" is not empty for whoever signs in.
            let owner = if index % 10 == 3 {
                admin_id
            } else {
                csm_ids[index as usize % csm_ids.len()]
            };
            let csm = (plan.stage != Stage::Prospect).then_some(owner);
            insert_customer(&mut tx, &plan, csm, now, &mut report).await?;
        }
        tx.commit().await?;
        start = end;
    }
    if opts.usage_days > 0 {
        report.usage_events =
            crate::demo_usage::seed_usage(app, opts.seed, opts.usage_days).await?;
    }
    if report.customers_created > 0 {
        // Fresh statistics let the planner pick the right index for list filters at once.
        app.db.analyze().await?;
    }

    tracing::info!(
        seed = opts.seed,
        users_created = report.users_created,
        customers_created = report.customers_created,
        customers_skipped = report.customers_skipped,
        "demo data seeded"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()
    }

    fn plans(seed: u64, count: u32) -> Vec<Plan> {
        let mut planner = Planner::new(seed, today());
        (0..count).map(|i| planner.plan(i)).collect()
    }

    #[test]
    fn prng_is_deterministic_splitmix64() {
        // The reference splitmix64 sequence for seed 0: pins the algorithm itself.
        let mut r = SplitMix64(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        let a: Vec<u64> = (0..100)
            .scan(SplitMix64(42), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..100)
            .scan(SplitMix64(42), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        let c: Vec<u64> = (0..100)
            .scan(SplitMix64(43), |r, _| Some(r.next_u64()))
            .collect();
        assert_ne!(a, c);
        let mut r = SplitMix64(9);
        for _ in 0..1000 {
            assert!((5..=8).contains(&r.range(5, 8)));
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let id = demo_id(7, "customer", 3);
        assert_eq!(id, demo_id(7, "customer", 3));
        assert_eq!(id, customer_id(7, 3));
        assert_ne!(id, demo_id(8, "customer", 3));
        assert_ne!(id, demo_id(7, "contract", 3));
        assert_ne!(id, demo_id(7, "customer", 4));
        assert_eq!(id.0.get_version_num(), 8);
        assert_eq!(id.0.get_variant(), uuid::Variant::RFC4122);
        let many: HashSet<Id> = (0..10_000).map(|i| demo_id(7, "stakeholder", i)).collect();
        assert_eq!(many.len(), 10_000);
    }

    #[test]
    fn plans_are_deterministic() {
        let a = plans(7, 40);
        let b = plans(7, 40);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                (x.id, &x.name, x.arr, x.renewal),
                (y.id, &y.name, y.arr, y.renewal)
            );
        }
        assert_ne!(a[0].name, plans(8, 1)[0].name);
    }

    #[test]
    fn company_names_are_unique() {
        for seed in [1, 7, 42, 2026] {
            let names: Vec<String> = plans(seed, 40).into_iter().map(|p| p.name).collect();
            let unique: HashSet<&String> = names.iter().collect();
            assert_eq!(unique.len(), 40, "seed {seed}: {names:?}");
            // Forty customers never need a numeric suffix.
            assert!(names
                .iter()
                .all(|n| !n.ends_with(|c: char| c.is_ascii_digit())));
        }
        let many: HashSet<String> = plans(7, 5_000).into_iter().map(|p| p.name).collect();
        assert_eq!(many.len(), 5_000);
    }

    #[test]
    fn forty_customers_cover_every_stage_segment_and_industry() {
        for seed in [1, 7, 42, 2026] {
            let ps = plans(seed, 40);
            for &stage in Stage::ALL {
                let n = ps.iter().filter(|p| p.stage == stage).count();
                assert!(n >= 2, "seed {seed}: {stage:?} appears {n} times");
            }
            let active = ps.iter().filter(|p| p.stage == Stage::Active).count();
            assert!(active > 40 / 2);
            let enterprise = ps
                .iter()
                .filter(|p| p.segment == Segment::Enterprise)
                .count();
            let smb = ps.iter().filter(|p| p.segment == Segment::Smb).count();
            assert!(enterprise >= 1 && enterprise < smb);
            let industries: HashSet<&str> = ps.iter().map(|p| p.industry).collect();
            assert!(industries.len() >= 8);
        }
    }

    #[test]
    fn values_are_consistent_with_stage_and_segment() {
        for p in plans(7, 400) {
            match p.stage {
                Stage::Prospect => {
                    assert!(p.arr.is_none() && p.health.is_none() && p.renewal.is_none())
                }
                Stage::Churned => assert!(p.renewal.unwrap() < today()),
                _ => assert!(p.renewal.unwrap() > today()),
            }
            if let Some(arr) = p.arr {
                let (lo, hi) = p.segment.arr_range();
                assert!((lo..=hi).contains(&arr) && arr % 100 == 0, "{arr}");
            }
            let health_range = match p.stage {
                Stage::Prospect => None,
                Stage::Onboarding => Some(50..=80),
                Stage::Active => Some(55..=95),
                Stage::AtRisk => Some(20..=49),
                Stage::Churned => Some(5..=35),
            };
            assert_eq!(health_range.is_some(), p.health.is_some());
            if let (Some(r), Some(h)) = (health_range, p.health) {
                assert!(r.contains(&h));
            }
        }
        let soon = plans(7, 40)
            .iter()
            .filter(|p| p.stage != Stage::Churned)
            .filter_map(|p| p.renewal)
            .filter(|r| *r <= today() + Duration::days(30))
            .count();
        assert!(soon >= 1);
    }

    #[test]
    fn line_items_add_up_to_the_arr() {
        for p in plans(7, 400) {
            let items = line_items(&p);
            match p.arr {
                None => assert!(items.is_empty()),
                Some(arr) => {
                    assert!((2..=4).contains(&items.len()));
                    let total: Decimal = items.iter().map(LineItem::total).sum();
                    assert_eq!(total, Decimal::from(arr), "{}", p.name);
                    assert!(items
                        .iter()
                        .all(|i| i.quantity > 0 && i.unit_price > Decimal::ZERO));
                }
            }
        }
    }

    #[test]
    fn records_are_valid() {
        let now = Timestamp::from_millis(1_768_435_200_000);
        for p in plans(7, 200) {
            let people = stakeholder_records(&p, now);
            assert!((2..=5).contains(&people.len()));
            assert_eq!(people.iter().filter(|s| s.is_primary).count(), 1);
            for s in &people {
                let email = s.email.as_deref().unwrap();
                assert!(cscx_domain::validate::email(email).is_ok(), "{email}");
                assert!(SENTIMENTS.contains(&s.sentiment.as_deref().unwrap()));
            }
            let c = customer_record(&p, None, now);
            let sf = c.salesforce_id.unwrap();
            assert!(sf.len() == 18 && sf.starts_with("001"));
            assert!(sf.chars().all(|ch| ch.is_ascii_alphanumeric()));
            if let Some(contract) = contract_record(&p, &line_items(&p), now) {
                assert_eq!(contract.end_date, p.renewal);
                assert!(contract.start_date.unwrap() < contract.end_date.unwrap());
                let expected = if p.stage == Stage::Churned {
                    "expired"
                } else {
                    "active"
                };
                assert_eq!(contract.status, expected);
            }
        }
    }
}
