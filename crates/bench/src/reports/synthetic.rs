//! A synthetic history of the three feeds reporting follows, for building its read model at scale without running
//! the services that would write it: `total` changes spread evenly over the [`SPAN`] (two years) that ends at
//! `end`, so a calendar quarter holds about an eighth of them, each change the wire form of its resource as the
//! feeds carry it (`Change.resource` an `Any` of the message's encoding).
//!
//! The mix follows the brief of issue 20's scale figures: organisations ~1% of the changes, contacts ~10%,
//! affiliations ~5%, interactions ~25%, meetings ~15%, action items ~15%, commitments ~10%, projects and milestones
//! ~4%, cases ~10%, prevention actions ~5%. About a third of the changes are updates of earlier resources, and
//! they are what a real register's updates are: each resource is created with a *plan* (a meeting is completed
//! after it ends, with its attendance, or cancelled before it starts; an action item is done or cancelled; a
//! case is acknowledged, mediated and closed, or rejected or withdrawn on the way; a project's health is
//! reviewed), and each step of the plan is an update at the instant it falls due, with the resource as it is
//! then. Some plans never finish (a follow-up never done, a case stuck in mediation), as in any register: those
//! resources stay open, and every later report counts them.
//!
//! Deterministic: the same seed, size and end give the same changes byte for byte (ids are UUIDv7 of the
//! creation instant with random bits from the seeded generator), so two runs ending on the same instant build the
//! same read model; ends a whole number of days apart give the same history shifted in time (meetings are booked
//! on calendar days, so other shifts reorder some steps).
use liaison_proto::common::v1::{Change, ChangeKind};
use liaison_proto::contacts::v1 as contacts;
use liaison_proto::mediation::v1 as mediation;
use liaison_proto::scheduling::v1 as scheduling;
use liaison_runtime::config::ServiceKind;
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A day in microseconds (the read model's unit).
pub(crate) const DAY: i64 = 86_400 * 1_000_000;
/// How long the history lasts: two years, ending at the generator's `end`.
pub(crate) const SPAN: i64 = 730 * DAY;

/// The kinds of resource the read model keeps: reporting's own.
pub(crate) use liaison_reporting::domain::facts::Kind;

/// What the generator needs to know of each kind.
pub(crate) trait Plan: Copy {
    fn source(self) -> ServiceKind;
    fn share(self) -> f64;
    fn updates_per_create(self) -> f64;
    fn index(self) -> usize;
    fn name(self) -> &'static str;
}

impl Plan for Kind {
    /// The service whose feed carries it.
    fn source(self) -> ServiceKind {
        match self {
            Self::Organization | Self::Contact | Self::Affiliation | Self::Interaction => ServiceKind::Contacts,
            Self::Meeting | Self::ActionItem | Self::Commitment | Self::Project | Self::Milestone => {
                ServiceKind::Scheduling
            }
            Self::Case | Self::PreventionAction => ServiceKind::Mediation,
        }
    }

    /// Its target share of all changes, creations and updates together.
    fn share(self) -> f64 {
        match self {
            Self::Organization => 0.01,
            Self::Contact => 0.10,
            Self::Affiliation => 0.05,
            Self::Interaction => 0.25,
            Self::Meeting => 0.15,
            Self::ActionItem => 0.15,
            Self::Commitment => 0.10,
            Self::Project => 0.01,
            Self::Milestone => 0.03,
            Self::Case => 0.10,
            Self::PreventionAction => 0.05,
        }
    }

    /// The updates one creation leads to on average, from the plans below (see each `plan_*`). A kind is created
    /// in proportion to `share / (1 + updates)`, so that creations and their updates together make its share.
    fn updates_per_create(self) -> f64 {
        match self {
            Self::Organization => 0.2,
            Self::Contact => 0.17,
            Self::Affiliation => 0.1,
            Self::Interaction => 0.18,
            Self::Meeting => 0.73,
            Self::ActionItem => 0.85,
            Self::Commitment => 0.75,
            // Reviews continue with probability 3/4 after each, at most four.
            Self::Project => 2.05,
            Self::Milestone => 0.85,
            // Acknowledged (or rejected), mediated (or withdrawn), closed (or stuck).
            Self::Case => 2.74,
            Self::PreventionAction => 0.85,
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        match self {
            Self::Organization => "organizations",
            Self::Contact => "contacts",
            Self::Affiliation => "affiliations",
            Self::Interaction => "interactions",
            Self::Meeting => "meetings",
            Self::ActionItem => "action items",
            Self::Commitment => "commitments",
            Self::Project => "projects",
            Self::Milestone => "milestones",
            Self::Case => "cases",
            Self::PreventionAction => "prevention actions",
        }
    }
}

/// One generated change and the feed that carries it.
#[derive(Debug, Clone)]
pub(crate) struct Generated {
    pub(crate) source: ServiceKind,
    pub(crate) change: Change,
}

/// What was generated, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) created: [u64; 11],
    pub(crate) updated: [u64; 11],
}

impl Tally {
    #[cfg(test)]
    pub(crate) fn total(&self) -> u64 {
        self.created.iter().chain(&self.updated).sum()
    }

    pub(crate) fn updates(&self) -> u64 {
        self.updated.iter().sum()
    }

    /// Changes per kind: (created, updated).
    pub(crate) fn by_kind(&self) -> std::collections::BTreeMap<&'static str, (u64, u64)> {
        Kind::ALL.iter().map(|k| (k.name(), (self.created[k.index()], self.updated[k.index()]))).collect()
    }

    /// The share of `kind` among all changes.
    #[cfg(test)]
    pub(crate) fn share(&self, kind: Kind) -> f64 {
        let total = self.total();
        if total == 0 {
            return 0.0;
        }
        (self.created[kind.index()] + self.updated[kind.index()]) as f64 / total as f64
    }
}

/// A resource between two steps of its plan.
enum Resource {
    Organization(Box<contacts::Organization>),
    Contact(Box<contacts::Contact>),
    Affiliation(Box<contacts::Affiliation>),
    Interaction(Box<contacts::Interaction>),
    Meeting(Box<scheduling::Meeting>),
    ActionItem(Box<scheduling::ActionItem>),
    Commitment(Box<scheduling::Commitment>),
    Project(Box<scheduling::Project>),
    Milestone(Box<scheduling::Milestone>),
    Case(Box<mediation::Case>),
    PreventionAction(Box<mediation::PreventionAction>),
}

/// The next step of a resource's plan, due at `due`; `order` keeps steps due at the same instant in the order
/// they were planned (so the output does not depend on the heap's tie-breaking).
struct Pending {
    due: i64,
    order: u64,
    /// How many steps were taken (the plan's position).
    step: u8,
    resource: Resource,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.order) == (other.due, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.order).cmp(&(other.due, other.order))
    }
}

/// Names kept to refer to: the last `capacity` pushed.
struct Recent {
    names: VecDeque<String>,
    capacity: usize,
}

impl Recent {
    fn new(capacity: usize) -> Self {
        Self { names: VecDeque::with_capacity(capacity), capacity }
    }

    fn push(&mut self, name: String) {
        if self.names.len() == self.capacity {
            self.names.pop_front();
        }
        self.names.push_back(name);
    }

    fn pick(&self, rng: &mut StdRng) -> Option<&str> {
        (!self.names.is_empty()).then(|| self.names[rng.random_range(0..self.names.len())].as_str())
    }
}

const FIRST_NAMES: &[&str] = &[
    "Amira", "Bruno", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiroshi", "Ines", "Jonas", "Kavya", "Liam",
    "Maren", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samir", "Tove", "Ugo", "Vera", "Wanjiru", "Xavier",
    "Yusuf", "Zofia",
];
const LAST_NAMES: &[&str] = &[
    "Abara",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Urquhart",
    "Virtanen",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
];
const ORG_WORDS: &[&str] = &[
    "Water",
    "Roads",
    "Housing",
    "Health",
    "Energy",
    "Transport",
    "Education",
    "Environment",
    "Planning",
    "Finance",
    "Agriculture",
    "Heritage",
    "Fisheries",
    "Parks",
    "Waste",
    "Safety",
];
const ORG_SUFFIXES: &[&str] =
    &["Agency", "Department", "Council", "Trust", "Association", "Cooperative", "Ltd", "Foundation", "Board"];
const LABELS: &[&str] = &[
    "ministry",
    "ngo",
    "community",
    "supplier",
    "media",
    "priority",
    "region.north",
    "region.south",
    "region.east",
    "region.west",
];
const TOPICS: &[&str] = &[
    "road closure",
    "water quality",
    "noise complaints",
    "site access",
    "budget review",
    "planning consultation",
    "land survey",
    "compensation claim",
    "public hearing",
    "grant application",
    "contract variation",
    "safety inspection",
];
const SERIES: &[&str] = &[
    "Weekly liaison",
    "Steering committee",
    "Community forum",
    "Project board",
    "Stakeholder briefing",
    "Technical working group",
    "Monthly review",
    "Partnership meeting",
];
const ZONES: &[&str] = &["Europe/London", "Europe/Berlin", "America/New_York", "Europe/Helsinki"];
const CURRENCIES: &[&str] = &["EUR", "GBP", "USD"];

fn timestamp(micros: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    }
}

fn micros(time: Option<&prost_types::Timestamp>) -> i64 {
    time.map_or(0, |t| t.seconds * 1_000_000 + i64::from(t.nanos / 1_000))
}

fn date(micros: i64) -> contacts::Date {
    let day = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default().date_naive();
    use chrono::Datelike;
    contacts::Date { year: day.year(), month: day.month() as i32, day: day.day() as i32 }
}

/// The generator; an iterator of [`Generated`] changes in the order the feeds would carry them.
pub(crate) struct Synthetic {
    rng: StdRng,
    total: u64,
    emitted: u64,
    start: i64,
    /// The last sequence of each feed: contacts, scheduling, mediation.
    sequences: [i64; 3],
    pending: BinaryHeap<Reverse<Pending>>,
    planned: u64,
    /// Cumulative creation weights, in [`Kind::ALL`] order.
    weights: [f64; 11],
    contacts: Vec<u128>,
    staff: Vec<u128>,
    organizations: Vec<u128>,
    projects: Recent,
    milestones: Recent,
    completed_meetings: Recent,
    cases_with_root_cause: Recent,
    cases_opened: u64,
    tally: Tally,
}

impl Synthetic {
    /// `total` changes over the two years before `end` (microseconds since the epoch), drawn from `seed`.
    pub(crate) fn new(seed: u64, total: u64, end: i64) -> Self {
        let mut weights = [0.0; 11];
        let mut sum = 0.0;
        for kind in Kind::ALL {
            sum += kind.share() / (1.0 + kind.updates_per_create());
            weights[kind.index()] = sum;
        }
        for weight in &mut weights {
            *weight /= sum;
        }
        Self {
            rng: StdRng::seed_from_u64(seed),
            total,
            emitted: 0,
            start: end - SPAN,
            sequences: [0; 3],
            pending: BinaryHeap::new(),
            planned: 0,
            weights,
            contacts: Vec::new(),
            staff: Vec::new(),
            organizations: Vec::new(),
            projects: Recent::new(100),
            milestones: Recent::new(500),
            completed_meetings: Recent::new(500),
            cases_with_root_cause: Recent::new(300),
            cases_opened: 0,
            tally: Tally::default(),
        }
    }

    pub(crate) fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The instant of change `index`: evenly spread over the span.
    fn instant(&self, index: u64) -> i64 {
        self.start + (i128::from(index) * i128::from(SPAN) / i128::from(self.total.max(1))) as i64
    }

    /// A UUIDv7 of the instant `at`, its other bits from the generator.
    fn id(&mut self, at: i64) -> u128 {
        let bytes: [u8; 10] = self.rng.random();
        uuid::Builder::from_unix_timestamp_millis((at / 1000).max(0) as u64, &bytes).into_uuid().as_u128()
    }

    fn name(collection: &str, id: u128) -> String {
        format!("{collection}/{}", uuid::Uuid::from_u128(id))
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    fn days(&mut self, from: i64, to: i64) -> i64 {
        self.rng.random_range(from * DAY..=to * DAY)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }

    /// A contact to take part in something: half the time one of the latest tenth (the relationships in play
    /// now), otherwise anyone.
    fn contact(&mut self) -> String {
        let n = self.contacts.len();
        let index = if self.chance(0.5) {
            n - 1 - self.rng.random_range(0..n.div_ceil(10))
        } else {
            self.rng.random_range(0..n)
        };
        Self::name("contacts", self.contacts[index])
    }

    /// Someone of the organisation running the register: owners, organisers, mediators.
    fn staff(&mut self) -> String {
        let id = self.staff[self.rng.random_range(0..self.staff.len())];
        Self::name("contacts", id)
    }

    fn organization(&mut self) -> String {
        let id = self.organizations[self.rng.random_range(0..self.organizations.len())];
        Self::name("organizations", id)
    }

    fn plan(&mut self, due: i64, step: u8, resource: Resource) {
        self.planned += 1;
        self.pending.push(Reverse(Pending { due, order: self.planned, step, resource }));
    }

    /// The kind of the next creation, by the weights; one whose parent does not exist yet creates the parent.
    fn creation_kind(&mut self) -> Kind {
        let draw: f64 = self.rng.random();
        let kind = Kind::ALL.into_iter().find(|k| draw < self.weights[k.index()]).unwrap_or(Kind::PreventionAction);
        match kind {
            _ if self.contacts.is_empty() => Kind::Contact,
            Kind::Affiliation | Kind::Project if self.organizations.is_empty() => Kind::Organization,
            Kind::Milestone if self.projects.names.is_empty() => Kind::Project,
            Kind::PreventionAction if self.cases_with_root_cause.names.is_empty() => Kind::Case,
            other => other,
        }
    }

    fn emit(&mut self, kind: Kind, update: bool, at: i64, change_kind: ChangeKind, resource: &Resource) -> Generated {
        let (name, type_name, value, confidential) = match resource {
            Resource::Organization(m) => (m.name.clone(), "contacts.v1.Organization", m.encode_to_vec(), false),
            Resource::Contact(m) => (m.name.clone(), "contacts.v1.Contact", m.encode_to_vec(), false),
            Resource::Affiliation(m) => (m.name.clone(), "contacts.v1.Affiliation", m.encode_to_vec(), false),
            Resource::Interaction(m) => (m.name.clone(), "contacts.v1.Interaction", m.encode_to_vec(), false),
            Resource::Meeting(m) => (m.name.clone(), "scheduling.v1.Meeting", m.encode_to_vec(), false),
            Resource::ActionItem(m) => (m.name.clone(), "scheduling.v1.ActionItem", m.encode_to_vec(), false),
            Resource::Commitment(m) => (m.name.clone(), "scheduling.v1.Commitment", m.encode_to_vec(), false),
            Resource::Project(m) => (m.name.clone(), "scheduling.v1.Project", m.encode_to_vec(), false),
            Resource::Milestone(m) => (m.name.clone(), "scheduling.v1.Milestone", m.encode_to_vec(), false),
            Resource::Case(m) => (m.name.clone(), "mediation.v1.Case", m.encode_to_vec(), m.confidential),
            Resource::PreventionAction(m) => {
                (m.name.clone(), "mediation.v1.PreventionAction", m.encode_to_vec(), false)
            }
        };
        let source = kind.source();
        let feed = match source {
            ServiceKind::Contacts => 0,
            ServiceKind::Scheduling => 1,
            _ => 2,
        };
        self.sequences[feed] += 1;
        if update {
            self.tally.updated[kind.index()] += 1;
        } else {
            self.tally.created[kind.index()] += 1;
        }
        Generated {
            source,
            change: Change {
                sequence: self.sequences[feed],
                change_time: Some(timestamp(at)),
                resource_name: name,
                kind: change_kind as i32,
                resource: Some(prost_types::Any {
                    type_url: format!("type.googleapis.com/liaison.{type_name}"),
                    value,
                }),
                confidential,
                ..Default::default()
            },
        }
    }

    fn create(&mut self, kind: Kind, at: i64) -> Generated {
        let resource = match kind {
            Kind::Organization => self.new_organization(at),
            Kind::Contact => self.new_contact(at),
            Kind::Affiliation => self.new_affiliation(at),
            Kind::Interaction => self.new_interaction(at),
            Kind::Meeting => self.new_meeting(at),
            Kind::ActionItem => self.new_action_item(at),
            Kind::Commitment => self.new_commitment(at),
            Kind::Project => self.new_project(at),
            Kind::Milestone => self.new_milestone(at),
            Kind::Case => self.new_case(at),
            Kind::PreventionAction => self.new_prevention_action(at),
        };
        let generated = self.emit(kind, false, at, ChangeKind::Created, &resource);
        self.plan_first(kind, at, resource);
        generated
    }

    fn new_organization(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        let parent =
            if !self.organizations.is_empty() && self.chance(0.2) { self.organization() } else { String::new() };
        let display_name =
            format!("{} {} {}", self.pick(ORG_WORDS), self.pick(ORG_SUFFIXES), self.organizations.len() + 1);
        let labels = (0..self.rng.random_range(0..3)).map(|_| self.pick(LABELS).to_owned()).collect();
        self.organizations.push(id);
        Resource::Organization(Box::new(contacts::Organization {
            name: Self::name("organizations", id),
            website: format!("https://org{}.example.org", self.organizations.len()),
            display_name,
            kind: self.rng.random_range(1..=7),
            notes: format!("Stakeholder for {}.", self.pick(TOPICS)),
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            parent,
            postal_address: Some(contacts::PostalAddress {
                address_lines: vec![format!("{} Market Street", self.rng.random_range(1..300))],
                locality: "Riverton".into(),
                postal_code: format!("RV{}", self.rng.random_range(10..99)),
                region_code: "GB".into(),
                ..Default::default()
            }),
            labels,
        }))
    }

    fn new_contact(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        // One contact in forty works for the organisation running the register (and the very first one).
        if self.contacts.len().is_multiple_of(40) {
            self.staff.push(id);
        }
        self.contacts.push(id);
        let (given, family) = (self.pick(FIRST_NAMES), self.pick(LAST_NAMES));
        let n = self.contacts.len();
        let email = format!("{}.{}{n}@example.org", given.to_lowercase(), family.to_lowercase());
        let phone = format!("+44 20 7{:03} {:04}", self.rng.random_range(0..1000), self.rng.random_range(0..10_000));
        let labels = (0..self.rng.random_range(0..3)).map(|_| self.pick(LABELS).to_owned()).collect();
        Resource::Contact(Box::new(contacts::Contact {
            name: Self::name("contacts", id),
            display_name: format!("{given} {family}"),
            given_name: given.into(),
            family_name: family.into(),
            emails: vec![contacts::EmailAddress { address: email.clone(), primary: true, ..Default::default() }],
            phones: vec![contacts::PhoneNumber { number: phone.clone(), primary: true, ..Default::default() }],
            email,
            phone,
            time_zone: self.pick(ZONES).into(),
            notes: String::new(),
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            preferred_channel: self.rng.random_range(1..=5),
            languages: vec!["en".into()],
            labels,
            uid: uuid::Uuid::from_u128(id).to_string(),
            ..Default::default()
        }))
    }

    fn new_affiliation(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        // Mostly people met lately.
        let n = self.contacts.len();
        let contact = Self::name("contacts", self.contacts[n - 1 - self.rng.random_range(0..n.min(200))]);
        Resource::Affiliation(Box::new(contacts::Affiliation {
            name: Self::name("affiliations", id),
            contact,
            organization: self.organization(),
            role: self.pick(&["Director", "Officer", "Chair", "Engineer", "Adviser", "Member"]).into(),
            start_date: Some(date(at)),
            point_of_contact: self.chance(0.3),
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            ..Default::default()
        }))
    }

    fn new_interaction(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        // Logged up to three days after it took place.
        let occurred = at - self.days(0, 3);
        let mut participants: Vec<String> = (0..self.rng.random_range(1..=3)).map(|_| self.contact()).collect();
        if !self.organizations.is_empty() && self.chance(0.2) {
            participants.push(self.organization());
        }
        let topic = self.pick(TOPICS);
        let follow_up = self.chance(0.2).then(|| contacts::FollowUp {
            action: format!("Send an update on the {topic}"),
            owner: self.staff(),
            due_date: Some(date(at + self.days(3, 21))),
            done: false,
        });
        Resource::Interaction(Box::new(contacts::Interaction {
            name: Self::name("interactions", id),
            channel: self.rng.random_range(1..=8),
            direction: self.rng.random_range(1..=2),
            occur_time: Some(timestamp(occurred)),
            participants,
            subject: format!("About the {topic}"),
            summary: format!(
                "Discussed the {topic} and the next steps; concerns were noted and an answer was promised within \
                 {} days.",
                self.rng.random_range(2..15)
            ),
            sentiment: self.rng.random_range(-2..=2),
            follow_up,
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            ..Default::default()
        }))
    }

    fn new_meeting(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        // Booked one to thirty days ahead, at a working hour.
        let day_start = (at + self.days(1, 30)).div_euclid(DAY) * DAY;
        let start = day_start + self.rng.random_range(8..17) * 3_600_000_000;
        let end = start + self.rng.random_range(1..=4) * 1_800_000_000;
        let organizer = self.staff();
        let mut attendees = vec![scheduling::Attendee {
            contact: organizer.clone(),
            optional: false,
            rsvp: scheduling::ResponseStatus::Accepted as i32,
            ..Default::default()
        }];
        for _ in 0..self.rng.random_range(1..=7) {
            let contact = self.contact();
            if attendees.iter().any(|a| a.contact == contact) {
                continue;
            }
            attendees.push(scheduling::Attendee {
                contact,
                optional: self.chance(0.15),
                rsvp: self.rng.random_range(1..=4),
                ..Default::default()
            });
        }
        Resource::Meeting(Box::new(scheduling::Meeting {
            name: Self::name("meetings", id),
            title: self.pick(SERIES).into(),
            start_time: Some(timestamp(start)),
            end_time: Some(timestamp(end)),
            time_zone: self.pick(ZONES).into(),
            participants: attendees.iter().map(|a| a.contact.clone()).collect(),
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            objectives: format!("Agree the next steps on the {}.", self.pick(TOPICS)),
            organizer,
            attendees,
            location: format!("Room {}", self.rng.random_range(1..40)),
            status: if self.chance(0.9) {
                scheduling::MeetingStatus::Scheduled
            } else {
                scheduling::MeetingStatus::Tentative
            } as i32,
            sequence: 0,
            ..Default::default()
        }))
    }

    fn new_action_item(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        let meeting = match self.chance(0.8) {
            true => self.completed_meetings.pick(&mut self.rng).map(str::to_owned).unwrap_or_default(),
            false => String::new(),
        };
        Resource::ActionItem(Box::new(scheduling::ActionItem {
            name: Self::name("actionItems", id),
            description: format!("Prepare a note on the {}", self.pick(TOPICS)),
            owner: if self.chance(0.8) { self.staff() } else { self.contact() },
            due_time: Some(timestamp(at + self.days(3, 30))),
            meeting,
            state: scheduling::ActionItemState::Open as i32,
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            ..Default::default()
        }))
    }

    fn new_commitment(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        let milestones = match self.chance(0.2) {
            true => self.milestones.pick(&mut self.rng).map(|m| vec![m.to_owned()]).unwrap_or_default(),
            false => Vec::new(),
        };
        let stakeholder =
            if !self.organizations.is_empty() && self.chance(0.4) { self.organization() } else { self.contact() };
        let topic = self.pick(TOPICS);
        Resource::Commitment(Box::new(scheduling::Commitment {
            name: Self::name("commitments", id),
            title: format!("Resolve the {topic}"),
            description: format!("We committed to resolve the {topic} and report back to the stakeholder."),
            stakeholder,
            made_in: self.completed_meetings.pick(&mut self.rng).map(str::to_owned).unwrap_or_default(),
            kind: self.rng.random_range(1..=2),
            owner: self.staff(),
            due_time: Some(timestamp(at + self.days(14, 120))),
            priority: self.rng.random_range(1..=3),
            risk: self.rng.random_range(1..=3),
            state: scheduling::CommitmentState::Open as i32,
            milestones,
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            ..Default::default()
        }))
    }

    fn new_project(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        let name = Self::name("projects", id);
        self.projects.push(name.clone());
        let currency = self.pick(CURRENCIES);
        Resource::Project(Box::new(scheduling::Project {
            name,
            display_name: format!("{} programme {}", self.pick(ORG_WORDS), self.projects.names.len()),
            objective: format!("Deliver the {} improvements.", self.pick(TOPICS)),
            owning_organization: self.organization(),
            planned_budget: Some(scheduling::Money {
                currency_code: currency.into(),
                units: self.rng.random_range(50_000..5_000_000),
                nanos: 0,
            }),
            actual_budget: Some(scheduling::Money { currency_code: currency.into(), units: 0, nanos: 0 }),
            start_time: Some(timestamp(at)),
            target_end_time: Some(timestamp(at + self.days(180, 540))),
            health: scheduling::ProjectHealth::OnTrack as i32,
            computed_health: scheduling::ProjectHealth::OnTrack as i32,
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            ..Default::default()
        }))
    }

    fn new_milestone(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        let project = self.projects.pick(&mut self.rng).unwrap_or_default().to_owned();
        let name = format!("{project}/milestones/{}", uuid::Uuid::from_u128(id));
        self.milestones.push(name.clone());
        Resource::Milestone(Box::new(scheduling::Milestone {
            name,
            title: format!("{} complete", self.pick(TOPICS)),
            due_time: Some(timestamp(at + self.days(20, 200))),
            status: scheduling::MilestoneStatus::NotStarted as i32,
            owner: self.staff(),
            percent_complete: 0,
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
        }))
    }

    fn new_case(&mut self, at: i64) -> Resource {
        use mediation::{CaseParty, PartyRole, Stage};
        let id = self.id(at);
        self.cases_opened += 1;
        let year = chrono::DateTime::from_timestamp_micros(at).map_or(2000, |t| chrono::Datelike::year(&t));
        let complainant = self.contact();
        let mut party_roles = vec![CaseParty { party: complainant.clone(), role: PartyRole::Complainant as i32 }];
        for _ in 0..self.rng.random_range(1..=2) {
            let party =
                if !self.organizations.is_empty() && self.chance(0.5) { self.organization() } else { self.contact() };
            party_roles.push(CaseParty { party, role: PartyRole::Respondent as i32 });
        }
        // Categories are uneven, so that some recur (the recurring-root-cause rule).
        let category = [1, 1, 2, 3, 3, 4, 5, 6, 6, 6, 7][self.rng.random_range(0..11)];
        let topic = self.pick(TOPICS);
        Resource::Case(Box::new(mediation::Case {
            name: Self::name("cases", id),
            title: format!("Dispute over the {topic}"),
            description: format!("The complainant disputes the handling of the {topic} and asks for a remedy."),
            parties: party_roles.iter().map(|p| p.party.clone()).collect(),
            state: mediation::CaseState::Open as i32,
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            party_roles,
            stage: Stage::Received as i32,
            reference: format!("MED-{year}-{:05}", self.cases_opened),
            remedy_sought: "An apology and a corrected decision.".into(),
            category,
            severity: self.rng.random_range(1..=4),
            intake_channel: self.rng.random_range(1..=7),
            raised_by: complainant,
            confidential: self.chance(0.1),
            history: vec![stage_change(Stage::Unspecified, Stage::Received, "OpenCase", at, 0)],
            stage_sla: Some(clock(at, 3, at)),
            case_sla: Some(clock(at, 40, at)),
            ..Default::default()
        }))
    }

    fn new_prevention_action(&mut self, at: i64) -> Resource {
        let id = self.id(at);
        let case = self.cases_with_root_cause.pick(&mut self.rng).unwrap_or_default().to_owned();
        Resource::PreventionAction(Box::new(mediation::PreventionAction {
            name: format!("{case}/preventionActions/{}", uuid::Uuid::from_u128(id)),
            description: format!("Change the procedure for the {}", self.pick(TOPICS)),
            owner: self.staff(),
            due_time: Some(timestamp(at + self.days(30, 90))),
            state: mediation::ActionState::Open as i32,
            etag: "1".into(),
            create_time: Some(timestamp(at)),
            update_time: Some(timestamp(at)),
            ..Default::default()
        }))
    }

    /// The first step of a new resource's plan, if it has one.
    fn plan_first(&mut self, kind: Kind, at: i64, resource: Resource) {
        let due = match (kind, &resource) {
            (Kind::Organization, _) => self.chance(0.2).then(|| at + self.days(30, 300)),
            // 15% are edited later, 2% deleted.
            (Kind::Contact, _) => {
                let draw: f64 = self.rng.random();
                (draw < 0.17).then(|| at + self.days(10, 400))
            }
            (Kind::Affiliation, _) => self.chance(0.1).then(|| at + self.days(30, 300)),
            // 90% of follow-ups are done.
            (Kind::Interaction, Resource::Interaction(i)) => {
                (i.follow_up.is_some() && self.chance(0.9)).then(|| at + self.days(2, 30))
            }
            // Completed after it ends (65%), cancelled before it starts (8%), or never recorded.
            (Kind::Meeting, Resource::Meeting(m)) => {
                let (start, end) = (micros(m.start_time.as_ref()), micros(m.end_time.as_ref()));
                let draw: f64 = self.rng.random();
                if draw < 0.65 {
                    Some(end + self.rng.random_range(0..3 * DAY))
                } else if draw < 0.73 {
                    Some(at + (start - at) * self.rng.random_range(1..10) / 10)
                } else {
                    None
                }
            }
            // Closed within weeks (action items: done 80%, cancelled 5%; prevention actions: done 75%, deferred
            // 10%); the rest stay open.
            (Kind::ActionItem | Kind::PreventionAction, _) => self.chance(0.85).then(|| at + self.days(1, 60)),
            (Kind::Commitment, _) => self.chance(0.75).then(|| at + self.days(7, 150)),
            (Kind::Project, _) => self.chance(0.75).then(|| at + self.days(30, 120)),
            // Done around its due time (80%) or cancelled (5%).
            (Kind::Milestone, Resource::Milestone(m)) => {
                let due = micros(m.due_time.as_ref());
                self.chance(0.85).then(|| (due + self.days(-20, 25)).max(at + DAY))
            }
            (Kind::Case, _) => Some(at + self.days(1, 4)),
            _ => None,
        };
        if let Some(due) = due {
            self.plan(due, 0, resource);
        }
    }

    /// The step of `pending` that fell due, at `at`: the resource as it is after it, and its next step if any.
    fn update(&mut self, pending: Pending, at: i64) -> Generated {
        let Pending { step, resource, .. } = pending;
        let mut next: Option<i64> = None;
        let mut change_kind = ChangeKind::Updated;
        let (kind, resource) = match resource {
            Resource::Organization(mut o) => {
                o.labels.push(self.pick(LABELS).to_owned());
                o.notes = format!("Reviewed; now also involved in the {}.", self.pick(TOPICS));
                touch(&mut o.update_time, &mut o.etag, at);
                (Kind::Organization, Resource::Organization(o))
            }
            Resource::Contact(mut c) => {
                touch(&mut c.update_time, &mut c.etag, at);
                // Two in seventeen planned edits are deletions (2% of contacts).
                if self.chance(2.0 / 17.0) {
                    c.delete_time = Some(timestamp(at));
                    change_kind = ChangeKind::Deleted;
                } else {
                    c.labels.push(self.pick(LABELS).to_owned());
                    c.notes = format!("Prefers to be called about the {}.", self.pick(TOPICS));
                }
                (Kind::Contact, Resource::Contact(c))
            }
            Resource::Affiliation(mut a) => {
                a.point_of_contact = !a.point_of_contact;
                touch(&mut a.update_time, &mut a.etag, at);
                (Kind::Affiliation, Resource::Affiliation(a))
            }
            Resource::Interaction(mut i) => {
                if let Some(follow_up) = i.follow_up.as_mut() {
                    follow_up.done = true;
                }
                touch(&mut i.update_time, &mut i.etag, at);
                (Kind::Interaction, Resource::Interaction(i))
            }
            Resource::Meeting(mut m) => {
                self.conclude_meeting(&mut m, at);
                (Kind::Meeting, Resource::Meeting(m))
            }
            Resource::ActionItem(mut a) => {
                let done = self.chance(0.8 / 0.85);
                a.state = if done { scheduling::ActionItemState::Done } else { scheduling::ActionItemState::Cancelled }
                    as i32;
                a.close_time = Some(timestamp(at));
                a.completion_note = if done { "Sent.".into() } else { "No longer needed.".into() };
                touch(&mut a.update_time, &mut a.etag, at);
                (Kind::ActionItem, Resource::ActionItem(a))
            }
            Resource::Commitment(mut c) => {
                if self.chance(0.7 / 0.75) {
                    c.state = scheduling::CommitmentState::Closed as i32;
                    // Mostly satisfied, some not (the low-satisfaction rule).
                    c.satisfaction = [1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5][self.rng.random_range(0..13)];
                    c.satisfaction_note = "Recorded at closure.".into();
                    c.progress_percent = 100;
                } else {
                    c.state = scheduling::CommitmentState::Referred as i32;
                    c.referred_to = self.staff();
                }
                c.close_time = Some(timestamp(at));
                touch(&mut c.update_time, &mut c.etag, at);
                (Kind::Commitment, Resource::Commitment(c))
            }
            Resource::Project(mut p) => {
                use scheduling::ProjectHealth as H;
                let health = [H::OnTrack, H::OnTrack, H::OnTrack, H::AtRisk, H::AtRisk, H::OffTrack]
                    [self.rng.random_range(0..6)] as i32;
                p.health = health;
                p.computed_health = health;
                if let (Some(actual), Some(planned)) = (p.actual_budget.as_mut(), p.planned_budget.as_ref()) {
                    actual.units = (actual.units + planned.units / 5).min(planned.units * 6 / 5);
                }
                touch(&mut p.update_time, &mut p.etag, at);
                if step < 3 && self.chance(0.75) {
                    next = Some(at + self.days(30, 120));
                }
                (Kind::Project, Resource::Project(p))
            }
            Resource::Milestone(mut m) => {
                use scheduling::MilestoneStatus as S;
                if self.chance(0.8 / 0.85) {
                    m.status = S::Done as i32;
                    m.percent_complete = 100;
                } else {
                    m.status = S::Cancelled as i32;
                }
                touch(&mut m.update_time, &mut m.etag, at);
                (Kind::Milestone, Resource::Milestone(m))
            }
            Resource::Case(mut c) => {
                next = self.advance_case(&mut c, step, at);
                (Kind::Case, Resource::Case(c))
            }
            Resource::PreventionAction(mut a) => {
                if self.chance(0.75 / 0.85) {
                    a.state = mediation::ActionState::Done as i32;
                } else {
                    a.state = mediation::ActionState::Deferred as i32;
                    a.defer_reason = "Waiting for the new procedure.".into();
                }
                touch(&mut a.update_time, &mut a.etag, at);
                (Kind::PreventionAction, Resource::PreventionAction(a))
            }
        };
        let generated = self.emit(kind, true, at, change_kind, &resource);
        if let Some(due) = next {
            self.plan(due, step + 1, resource);
        }
        generated
    }

    /// A meeting completed after it ended, with the attendance and minutes recorded, or cancelled before it began.
    fn conclude_meeting(&mut self, m: &mut scheduling::Meeting, at: i64) {
        let start = micros(m.start_time.as_ref());
        touch(&mut m.update_time, &mut m.etag, at);
        if at < start {
            m.status = scheduling::MeetingStatus::Cancelled as i32;
            m.cancel_reason = "The organiser is unavailable.".into();
            return;
        }
        m.status = scheduling::MeetingStatus::Completed as i32;
        // Each meeting its own turnout, so that some series fall (the falling-attendance rule).
        let turnout = self.rng.random_range(0.4..1.0);
        let attendance =
            m.attendees.iter().filter(|_| self.chance(turnout)).map(|a| a.contact.clone()).collect::<Vec<_>>();
        m.record = Some(scheduling::MeetingRecord {
            minutes: format!(
                "{} attended. The {} was discussed; the actions below were agreed.",
                attendance.len(),
                self.pick(TOPICS)
            ),
            decisions: vec![format!("Proceed with the {}", self.pick(TOPICS))],
            attendance,
            complete_time: Some(timestamp(at)),
            ..Default::default()
        });
        self.completed_meetings.push(m.name.clone());
    }

    /// The next stage of a case: acknowledged and assessed (or rejected), then mediated (or withdrawn), then
    /// closed with a root cause (or stuck); returns when the step after is due.
    fn advance_case(&mut self, c: &mut mediation::Case, step: u8, at: i64) -> Option<i64> {
        use mediation::Stage;
        let actor = self.staff();
        let created = micros(c.create_time.as_ref());
        touch(&mut c.update_time, &mut c.etag, at);
        // Each stage change enters the history and restarts the stage clock.
        let enter = |c: &mut mediation::Case, to: Stage, action: &str, at: i64, allowed_days: i64| {
            let from = Stage::try_from(c.stage).unwrap_or(Stage::Unspecified);
            c.history.push(StageChangeBuilder { from, to, action, at, actor: &actor }.build(c.escalation_level));
            c.stage = to as i32;
            c.stage_sla = Some(clock(at, allowed_days, at));
        };
        let case_clock = |c: &mut mediation::Case, at: i64| c.case_sla = Some(clock(created, 40, at));
        match step {
            0 if self.chance(0.08) => {
                enter(c, Stage::Rejected, "RejectCase", at, 0);
                self.close_case(c, mediation::Outcome::Unspecified, at);
                None
            }
            0 => {
                enter(c, Stage::Acknowledged, "AcknowledgeCase", at - DAY / 2, 5);
                enter(c, Stage::Assessed, "AssessCase", at, 5);
                case_clock(c, at);
                Some(at + self.days(2, 12))
            }
            1 if self.chance(0.05) => {
                enter(c, Stage::Withdrawn, "WithdrawCase", at, 0);
                self.close_case(c, mediation::Outcome::Unspecified, at);
                None
            }
            1 => {
                c.mediator = self.staff();
                c.case_team = vec![self.staff()];
                enter(c, Stage::MediatorAssigned, "AssignMediator", at - DAY / 4, 3);
                enter(c, Stage::InMediation, "StartMediation", at, 20);
                if self.chance(0.12) {
                    c.escalation_level += 1;
                    c.escalated_to = self.staff();
                    let escalation = StageChangeBuilder {
                        from: Stage::InMediation,
                        to: Stage::InMediation,
                        action: "EscalateCase",
                        at,
                        actor: &actor,
                    };
                    c.history.push(escalation.build(c.escalation_level));
                }
                case_clock(c, at);
                // Some cases stay in mediation for good.
                self.chance(0.94).then(|| at + self.days(5, 90))
            }
            _ => {
                c.root_cause = Some(mediation::RootCause {
                    category: c.category,
                    analysis: "The decision was not explained to the parties in time.".into(),
                    contributing_factors: vec!["staff turnover".into(), "unclear procedure".into()],
                });
                enter(c, Stage::RootCauseRecorded, "RecordRootCause", at - 2 * DAY, 10);
                enter(c, Stage::ProposalAgreed, "AgreeProposal", at - DAY, 10);
                enter(c, Stage::Closed, "CloseCase", at, 0);
                let draw: f64 = self.rng.random();
                let outcome = if draw < 0.8 {
                    mediation::Outcome::Resolved
                } else if draw < 0.92 {
                    mediation::Outcome::Unresolved
                } else {
                    mediation::Outcome::Inconclusive
                };
                c.agreement = "The parties agreed a corrected decision and a follow-up visit.".into();
                self.close_case(c, outcome, at);
                self.cases_with_root_cause.push(c.name.clone());
                None
            }
        }
    }

    fn close_case(&mut self, c: &mut mediation::Case, outcome: mediation::Outcome, at: i64) {
        c.outcome = outcome as i32;
        c.state = mediation::CaseState::Closed as i32;
        c.close_time = Some(timestamp(at));
        c.appeal_deadline = Some(timestamp(at + 14 * DAY));
        let created = micros(c.create_time.as_ref());
        c.case_sla = Some(clock(created, 40, at));
        c.stage_sla = None;
    }
}

/// A stage change of a case's history.
struct StageChangeBuilder<'a> {
    from: mediation::Stage,
    to: mediation::Stage,
    action: &'a str,
    at: i64,
    actor: &'a str,
}

impl StageChangeBuilder<'_> {
    fn build(&self, escalation_level: i32) -> mediation::StageChange {
        mediation::StageChange {
            from_stage: self.from as i32,
            to_stage: self.to as i32,
            action: self.action.to_owned(),
            actor: self.actor.to_owned(),
            time: Some(timestamp(self.at)),
            reason: String::new(),
            escalation_level,
        }
    }
}

fn stage_change(
    from: mediation::Stage,
    to: mediation::Stage,
    action: &str,
    at: i64,
    level: i32,
) -> mediation::StageChange {
    StageChangeBuilder { from, to, action, at, actor: "" }.build(level)
}

/// An SLA clock started at `start` with `working_days` allowed (about 1.4 calendar days each), as it stands at
/// `now`: at risk in its last fifth, breached after its due time.
fn clock(start: i64, working_days: i64, now: i64) -> mediation::SlaClock {
    let due = start + working_days * 7 * DAY / 5;
    let at_risk = due - (due - start) / 5;
    let status = if now > due {
        mediation::SlaStatus::Breached
    } else if now > at_risk {
        mediation::SlaStatus::AtRisk
    } else {
        mediation::SlaStatus::OnTrack
    };
    mediation::SlaClock {
        status: status as i32,
        start_time: Some(timestamp(start)),
        at_risk_time: Some(timestamp(at_risk)),
        due_time: Some(timestamp(due)),
        working_days_allowed: working_days as i32,
        working_days_elapsed: ((now - start).max(0) * 5 / (7 * DAY)) as i32,
    }
}

/// A resource changed at `at`: its update time and etag move on.
fn touch(update_time: &mut Option<prost_types::Timestamp>, etag: &mut String, at: i64) {
    *update_time = Some(timestamp(at));
    *etag = (etag.parse::<u64>().unwrap_or(0) + 1).to_string();
}

impl Iterator for Synthetic {
    type Item = Generated;

    /// The change at the next instant: the earliest step of a plan that has fallen due, else a new resource.
    fn next(&mut self) -> Option<Generated> {
        if self.emitted >= self.total {
            return None;
        }
        let at = self.instant(self.emitted);
        self.emitted += 1;
        if self.pending.peek().is_some_and(|Reverse(p)| p.due <= at)
            && let Some(Reverse(pending)) = self.pending.pop()
        {
            return Some(self.update(pending, at));
        }
        let kind = self.creation_kind();
        Some(self.create(kind, at))
    }
}

/// The most recent calendar quarter (UTC) that ended at or before `now`: `[start, end)` in microseconds.
pub(crate) fn last_full_quarter(now: i64) -> (i64, i64) {
    use chrono::{Datelike, NaiveDate};
    let today = chrono::DateTime::from_timestamp_micros(now).unwrap_or_default().date_naive();
    let first_month = (today.month0() / 3) * 3 + 1;
    let this_quarter = NaiveDate::from_ymd_opt(today.year(), first_month, 1).unwrap_or(today);
    let previous = if first_month == 1 {
        NaiveDate::from_ymd_opt(today.year() - 1, 10, 1)
    } else {
        NaiveDate::from_ymd_opt(today.year(), first_month - 3, 1)
    }
    .unwrap_or(today);
    let micros = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc().timestamp_micros();
    (micros(previous), micros(this_quarter))
}
