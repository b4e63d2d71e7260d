//! The people and organisations of the register (issue 22): generated, but shaped like a liaison office's real
//! list, and the same on every run. Record `i` of a seed is drawn from a generator of its own (seeded with the
//! seed and `i`), so that any record can be made again without the others: the import renders them stream by
//! stream, the search queries and the affiliations pick some back.
//!
//! - Names in the scripts and customs of 18 languages ([`CULTURES`], weighted): Latin with diacritics (French,
//!   German, Spanish, Portuguese, Polish, Czech, Turkish, Vietnamese, Nordic), Cyrillic (Russian, Ukrainian),
//!   Greek, Arabic, Chinese, Japanese (kanji, hiragana and katakana), Korean and Devanagari; the family name first
//!   where that is the custom (and without a space in Chinese and Korean), two family names in Spanish and
//!   Portuguese, compound given names in French.
//! - 1–2 email addresses (romanised local parts, the second a home one), 0–2 phone numbers written as people of
//!   that country write them (`+33 1 23 45 67 89`, `+1 (212) 555-0143`, `+81 90-1234-5678`, `0033 …`), 0–3
//!   labels, languages, a time zone, sometimes working hours, a preferred channel, consent and a note (some with
//!   commas: the CSV quotes them).
//! - [`DUPLICATE_PER_MILLE`] ‰ of the records are near-duplicates of an earlier one: the same person typed in again
//!   with a typo in the family name (a letter dropped or swapped, or its accents lost), or with the same email
//!   address in other letter case.
//! - [`ORGANIZATIONS`] organisations: agencies and government bodies of each language with their departments (a
//!   `parent`), companies, NGOs and community groups; [`AFFILIATED_PER_MILLE`] ‰ of the people are affiliated with
//!   one of them.
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;

/// Near-duplicates, per thousand records.
pub(crate) const DUPLICATE_PER_MILLE: u64 = 30;
/// People affiliated with an organisation, per thousand records.
pub(crate) const AFFILIATED_PER_MILLE: u64 = 50;
/// Organisations created before the import.
pub(crate) const ORGANIZATIONS: usize = 300;
/// Departments of each agency or government body.
const DEPARTMENTS_PER_BODY: usize = 2;
/// How far back a near-duplicate's original may be (records in between).
const DUPLICATE_REACH: u64 = 5_000;

/// The CSV columns the import is given (a subset of the contacts service's, in its order).
pub(crate) const CSV_HEADER: &str = "display_name,given_name,family_name,emails,phones,preferred_channel,languages,\
                                     time_zone,working_hours,labels,do_not_contact,consent_channels,consent_basis,\
                                     consent_since,notes";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// `Given Family`.
    GivenFamily,
    /// `Family Given`.
    FamilyGiven,
    /// `FamilyGiven`, no space (Chinese, Korean).
    FamilyGivenJoined,
}

/// A language's names, places, numbers and organisations. Names are `(as written, romanised for email)`.
struct Culture {
    weight: u32,
    given: &'static [(&'static str, &'static str)],
    family: &'static [(&'static str, &'static str)],
    order: Order,
    /// Per cent of people with two family names, joined by `double_join`.
    double_family: u32,
    double_join: &'static str,
    /// Per cent of people with two given names, joined by `compound_join`.
    compound_given: u32,
    compound_join: &'static str,
    /// Per cent of people shown with a middle initial (`James T. Walker`).
    middle_initial: u32,
    /// Most used first.
    languages: &'static [&'static str],
    zones: &'static [&'static str],
    /// `#` a digit, `N` a digit from 2 to 9 (where a number may not start with 0 or 1).
    phones: &'static [&'static str],
    domains: &'static [&'static str],
    notes: &'static [&'static str],
    /// Agencies and government bodies.
    bodies: &'static [&'static str],
    departments: &'static [&'static str],
    /// `{}` is a family name.
    company: &'static str,
    places: &'static [&'static str],
    /// `{}` is a place.
    community: &'static str,
    roles: &'static [&'static str],
}

/// The languages of the register, by weight.
static CULTURES: &[Culture] = &[
    Culture {
        weight: 14,
        given: &[
            ("James", "james"),
            ("Mary", "mary"),
            ("Olivia", "olivia"),
            ("William", "william"),
            ("Emma", "emma"),
            ("Noah", "noah"),
            ("Charlotte", "charlotte"),
            ("George", "george"),
            ("Amelia", "amelia"),
            ("Harry", "harry"),
            ("Sophie", "sophie"),
            ("Jack", "jack"),
            ("Grace", "grace"),
            ("Thomas", "thomas"),
            ("Lucy", "lucy"),
            ("Daniel", "daniel"),
            ("Eleanor", "eleanor"),
            ("Samuel", "samuel"),
            ("Isla", "isla"),
            ("Oscar", "oscar"),
        ],
        family: &[
            ("Smith", "smith"),
            ("Johnson", "johnson"),
            ("Williams", "williams"),
            ("Brown", "brown"),
            ("Taylor", "taylor"),
            ("Wilson", "wilson"),
            ("Davies", "davies"),
            ("Evans", "evans"),
            ("Roberts", "roberts"),
            ("Walker", "walker"),
            ("Wright", "wright"),
            ("Thompson", "thompson"),
            ("White", "white"),
            ("Hughes", "hughes"),
            ("O'Brien", "obrien"),
            ("McAllister", "mcallister"),
            ("Clarke", "clarke"),
            ("Robinson", "robinson"),
            ("Hall", "hall"),
            ("Fitzgerald", "fitzgerald"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: "-",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 15,
        languages: &["en", "en-GB", "en-US"],
        zones: &[
            "Europe/London",
            "America/New_York",
            "America/Chicago",
            "America/Los_Angeles",
            "Australia/Sydney",
            "Europe/Dublin",
        ],
        phones: &[
            "+44 20 #### ####",
            "+44 7### ######",
            "+1 (N##) 555-01##",
            "+1 N##.555.01##",
            "+61 2 #### ####",
            "+353 1 ### ####",
        ],
        domains: &["example.org", "example.com", "example.co.uk", "example.net"],
        notes: &[
            "Met at the water forum.",
            "Prefers calls in the morning.",
            "Needs an interpreter at meetings.",
            "Former councillor; knows the river project well, since 2019.",
        ],
        bodies: &[
            "Environment Agency",
            "Department for Transport",
            "Office of Water Services",
            "Greater Riverside Council",
            "Health and Safety Executive",
            "Department of Housing",
        ],
        departments: &[
            "Permits Division",
            "Press Office",
            "Legal Affairs",
            "Community Relations",
            "Procurement",
            "Inspection Unit",
        ],
        company: "{} & Sons Ltd",
        places: &["Riverside", "Northbridge", "Ashford", "Kingsmere", "Lakeview"],
        community: "{} Residents' Association",
        roles: &["Head of Permits", "Press officer", "Policy adviser", "Community organiser", "Board member"],
    },
    Culture {
        weight: 10,
        given: &[
            ("Zoë", "zoe"),
            ("Chloé", "chloe"),
            ("Hélène", "helene"),
            ("François", "francois"),
            ("Théo", "theo"),
            ("Léa", "lea"),
            ("Maëlle", "maelle"),
            ("Jérôme", "jerome"),
            ("Cécile", "cecile"),
            ("Noël", "noel"),
            ("Anaïs", "anais"),
            ("Benoît", "benoit"),
            ("Aurélie", "aurelie"),
            ("Loïc", "loic"),
            ("Gaëlle", "gaelle"),
            ("Étienne", "etienne"),
            ("Marie", "marie"),
            ("Jean", "jean"),
            ("Inès", "ines"),
            ("Raphaël", "raphael"),
        ],
        family: &[
            ("Lefèvre", "lefevre"),
            ("Dubois", "dubois"),
            ("Gérard", "gerard"),
            ("Moreau", "moreau"),
            ("Girard", "girard"),
            ("Bérenger", "berenger"),
            ("Faure", "faure"),
            ("Rousseau", "rousseau"),
            ("Mercier", "mercier"),
            ("Lécuyer", "lecuyer"),
            ("Chevalier", "chevalier"),
            ("Boucher", "boucher"),
            ("Fournier", "fournier"),
            ("Marchand", "marchand"),
            ("Brûlé", "brule"),
            ("Thévenin", "thevenin"),
            ("Perrot", "perrot"),
            ("Lemaître", "lemaitre"),
            ("Leroy", "leroy"),
            ("Dupré", "dupre"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: "-",
        compound_given: 15,
        compound_join: "-",
        middle_initial: 0,
        languages: &["fr", "fr-BE", "fr-CA"],
        zones: &["Europe/Paris", "Europe/Brussels", "America/Toronto", "Europe/Luxembourg"],
        phones: &["+33 1 ## ## ## ##", "+33 6 ## ## ## ##", "0033 4 ## ## ## ##", "+32 2 ### ## ##", "+1 514 555-0###"],
        domains: &["example.fr", "exemple.fr", "example.be"],
        notes: &[
            "Rencontrée au salon de l'eau.",
            "Préfère être appelé le matin.",
            "Contact pour les permis, bureau 3.",
            "Très impliqué dans le projet du fleuve.",
        ],
        bodies: &[
            "Ministère de la Transition écologique",
            "Agence de l'eau Seine-Normandie",
            "Préfecture du Rhône",
            "Mairie de Lyon",
            "Office français de la biodiversité",
            "Région Île-de-France",
        ],
        departments: &[
            "Direction des permis",
            "Service de presse",
            "Affaires juridiques",
            "Relations avec les usagers",
            "Service des marchés",
        ],
        company: "{} & Fils SARL",
        places: &["Villeurbanne", "Saint-Étienne", "Évry", "Orléans", "Besançon"],
        community: "Association des riverains de {}",
        roles: &["Chargée de mission", "Directeur", "Attachée de presse", "Responsable des permis", "Présidente"],
    },
    Culture {
        weight: 9,
        given: &[
            ("Jürgen", "juergen"),
            ("Jörg", "joerg"),
            ("Günther", "guenther"),
            ("Lena", "lena"),
            ("Lukas", "lukas"),
            ("Mia", "mia"),
            ("Felix", "felix"),
            ("Anna", "anna"),
            ("Björn", "bjoern"),
            ("Käthe", "kaethe"),
            ("Maximilian", "maximilian"),
            ("Sophie", "sophie"),
            ("Jonas", "jonas"),
            ("Hannah", "hannah"),
            ("Leonie", "leonie"),
            ("Matthias", "matthias"),
            ("Uwe", "uwe"),
            ("Sören", "soeren"),
            ("Klaus", "klaus"),
            ("Franziska", "franziska"),
        ],
        family: &[
            ("Müller", "mueller"),
            ("Schröder", "schroeder"),
            ("Weiß", "weiss"),
            ("Groß", "gross"),
            ("Schäfer", "schaefer"),
            ("Köhler", "koehler"),
            ("Bäcker", "baecker"),
            ("Krüger", "krueger"),
            ("Hoffmann", "hoffmann"),
            ("Schmidt", "schmidt"),
            ("Fischer", "fischer"),
            ("Wagner", "wagner"),
            ("Becker", "becker"),
            ("Schulz", "schulz"),
            ("Zimmermann", "zimmermann"),
            ("Strauß", "strauss"),
            ("Böhm", "boehm"),
            ("Lüdecke", "luedecke"),
            ("Hübner", "huebner"),
            ("Jäger", "jaeger"),
        ],
        order: Order::GivenFamily,
        double_family: 8,
        double_join: "-",
        compound_given: 0,
        compound_join: "-",
        middle_initial: 0,
        languages: &["de", "de-AT", "de-CH"],
        zones: &["Europe/Berlin", "Europe/Vienna", "Europe/Zurich"],
        phones: &["+49 30 ########", "+49 151 ########", "+49 89 #### ####", "+43 1 ### ####", "+41 44 ### ## ##"],
        domains: &["example.de", "beispiel.de", "example.at", "example.ch"],
        notes: &[
            "Ansprechpartner für Genehmigungen.",
            "Bitte nur vormittags anrufen.",
            "Kennt das Flussprojekt seit 2019, sehr hilfsbereit.",
        ],
        bodies: &[
            "Umweltbundesamt",
            "Bundesministerium für Verkehr",
            "Landesamt für Wasserwirtschaft",
            "Stadt München",
            "Bezirksregierung Köln",
            "Wasserwirtschaftsamt Rosenheim",
        ],
        departments: &["Referat Genehmigungen", "Pressestelle", "Rechtsabteilung", "Bürgerdialog", "Vergabestelle"],
        company: "{} GmbH & Co. KG",
        places: &["München", "Köln", "Düsseldorf", "Nürnberg", "Lübeck"],
        community: "Bürgerverein {}",
        roles: &["Referentin", "Abteilungsleiter", "Pressesprecherin", "Sachbearbeiter", "Geschäftsführer"],
    },
    Culture {
        weight: 10,
        given: &[
            ("José", "jose"),
            ("María", "maria"),
            ("Íñigo", "inigo"),
            ("Begoña", "begona"),
            ("Lucía", "lucia"),
            ("Martín", "martin"),
            ("Sofía", "sofia"),
            ("Andrés", "andres"),
            ("Inés", "ines"),
            ("Raúl", "raul"),
            ("Jesús", "jesus"),
            ("Mónica", "monica"),
            ("Álvaro", "alvaro"),
            ("Rocío", "rocio"),
            ("Ramón", "ramon"),
            ("Nuria", "nuria"),
            ("Sebastián", "sebastian"),
            ("Ángela", "angela"),
            ("Joaquín", "joaquin"),
            ("Elena", "elena"),
        ],
        family: &[
            ("Núñez", "nunez"),
            ("Ñúñez", "nunez"),
            ("Muñoz", "munoz"),
            ("Peña", "pena"),
            ("Ibáñez", "ibanez"),
            ("García", "garcia"),
            ("Fernández", "fernandez"),
            ("López", "lopez"),
            ("Martínez", "martinez"),
            ("Sánchez", "sanchez"),
            ("Gómez", "gomez"),
            ("Díaz", "diaz"),
            ("Pérez", "perez"),
            ("Jiménez", "jimenez"),
            ("Rodríguez", "rodriguez"),
            ("Ordóñez", "ordonez"),
            ("Castañeda", "castaneda"),
            ("Beltrán", "beltran"),
            ("Echeverría", "echeverria"),
            ("Suárez", "suarez"),
        ],
        order: Order::GivenFamily,
        double_family: 60,
        double_join: " ",
        compound_given: 10,
        compound_join: " ",
        middle_initial: 0,
        languages: &["es", "es-MX", "es-AR"],
        zones: &[
            "Europe/Madrid",
            "America/Mexico_City",
            "America/Bogota",
            "America/Argentina/Buenos_Aires",
            "America/Lima",
        ],
        phones: &["+34 6## ### ###", "+34 91 ### ## ##", "+52 55 #### ####", "+54 11 ####-####", "+57 1 ### ####"],
        domains: &["example.es", "ejemplo.es", "example.mx", "example.com.ar"],
        notes: &["Contacto de prensa.", "Prefiere correo electrónico.", "Conoce bien el proyecto del río, desde 2020."],
        bodies: &[
            "Confederación Hidrográfica del Ebro",
            "Ministerio para la Transición Ecológica",
            "Ayuntamiento de Zaragoza",
            "Agencia Estatal de Meteorología",
            "Comisión Nacional del Agua",
            "Gobierno de la Ciudad de Buenos Aires",
        ],
        departments: &["Dirección de Permisos", "Gabinete de Prensa", "Asesoría Jurídica", "Atención Ciudadana"],
        company: "Construcciones {} S.L.",
        places: &["Zaragoza", "Logroño", "Córdoba", "Cádiz", "Málaga"],
        community: "Asociación de Vecinos de {}",
        roles: &["Jefa de prensa", "Director general", "Técnico de permisos", "Portavoz", "Presidenta"],
    },
    Culture {
        weight: 5,
        given: &[
            ("João", "joao"),
            ("Conceição", "conceicao"),
            ("Gonçalo", "goncalo"),
            ("Inês", "ines"),
            ("Sebastião", "sebastiao"),
            ("Beatriz", "beatriz"),
            ("Tomás", "tomas"),
            ("Leonor", "leonor"),
            ("Afonso", "afonso"),
            ("Mariana", "mariana"),
            ("Luís", "luis"),
            ("Vitória", "vitoria"),
            ("André", "andre"),
            ("Lúcia", "lucia"),
            ("Caio", "caio"),
            ("Thaís", "thais"),
        ],
        family: &[
            ("Gonçalves", "goncalves"),
            ("Magalhães", "magalhaes"),
            ("Araújo", "araujo"),
            ("Simões", "simoes"),
            ("Conceição", "conceicao"),
            ("Guimarães", "guimaraes"),
            ("Brandão", "brandao"),
            ("Antunes", "antunes"),
            ("Pereira", "pereira"),
            ("Ribeiro", "ribeiro"),
            ("Assunção", "assuncao"),
            ("Falcão", "falcao"),
            ("Mendonça", "mendonca"),
            ("Sá", "sa"),
            ("Nóbrega", "nobrega"),
        ],
        order: Order::GivenFamily,
        double_family: 50,
        double_join: " ",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["pt", "pt-BR", "pt-PT"],
        zones: &["Europe/Lisbon", "America/Sao_Paulo", "America/Recife", "Atlantic/Azores"],
        phones: &["+351 21 ### ####", "+351 9## ### ###", "+55 11 9####-####", "+55 21 ####-####"],
        domains: &["example.pt", "exemplo.com.br", "example.com.br"],
        notes: &["Contacto para licenças.", "Prefere reuniões presenciais."],
        bodies: &[
            "Agência Portuguesa do Ambiente",
            "Câmara Municipal do Porto",
            "Agência Nacional de Águas",
            "Prefeitura de São Paulo",
        ],
        departments: &["Divisão de Licenciamento", "Assessoria de Imprensa", "Gabinete Jurídico"],
        company: "{} & Filhos Lda.",
        places: &["Porto", "Braga", "Évora", "Niterói", "Belém"],
        community: "Associação de Moradores de {}",
        roles: &["Assessora de imprensa", "Diretor", "Técnica de licenciamento", "Coordenador"],
    },
    Culture {
        weight: 4,
        given: &[
            ("Łukasz", "lukasz"),
            ("Małgorzata", "malgorzata"),
            ("Wojciech", "wojciech"),
            ("Agnieszka", "agnieszka"),
            ("Paweł", "pawel"),
            ("Zofia", "zofia"),
            ("Grzegorz", "grzegorz"),
            ("Katarzyna", "katarzyna"),
            ("Michał", "michal"),
            ("Joanna", "joanna"),
            ("Jędrzej", "jedrzej"),
            ("Bożena", "bozena"),
        ],
        family: &[
            ("Wójcik", "wojcik"),
            ("Zieliński", "zielinski"),
            ("Kowalczyk", "kowalczyk"),
            ("Wiśniewska", "wisniewska"),
            ("Dąbrowski", "dabrowski"),
            ("Łukasiewicz", "lukasiewicz"),
            ("Kamiński", "kaminski"),
            ("Lewandowska", "lewandowska"),
            ("Szymański", "szymanski"),
            ("Woźniak", "wozniak"),
            ("Kozłowski", "kozlowski"),
            ("Jabłońska", "jablonska"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: "-",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["pl"],
        zones: &["Europe/Warsaw"],
        phones: &["+48 22 ### ## ##", "+48 5## ### ###", "+48 6## ### ###"],
        domains: &["example.pl", "przyklad.pl"],
        notes: &["Kontakt w sprawie pozwoleń."],
        bodies: &["Wody Polskie", "Urząd Miasta Krakowa", "Ministerstwo Klimatu i Środowiska"],
        departments: &["Wydział Pozwoleń", "Biuro Prasowe", "Dział Prawny"],
        company: "{} i Synowie Sp. z o.o.",
        places: &["Kraków", "Łódź", "Gdańsk", "Wrocław"],
        community: "Stowarzyszenie Mieszkańców {}",
        roles: &["Rzecznik prasowy", "Kierownik wydziału", "Specjalistka ds. pozwoleń"],
    },
    Culture {
        weight: 2,
        given: &[
            ("Jiří", "jiri"),
            ("Tomáš", "tomas"),
            ("Kateřina", "katerina"),
            ("Lucie", "lucie"),
            ("Petr", "petr"),
            ("Jana", "jana"),
            ("Ondřej", "ondrej"),
            ("Markéta", "marketa"),
            ("Vojtěch", "vojtech"),
            ("Zdeňka", "zdenka"),
        ],
        family: &[
            ("Dvořák", "dvorak"),
            ("Novák", "novak"),
            ("Černý", "cerny"),
            ("Procházková", "prochazkova"),
            ("Svoboda", "svoboda"),
            ("Veselá", "vesela"),
            ("Růžička", "ruzicka"),
            ("Kučera", "kucera"),
            ("Horáková", "horakova"),
            ("Němec", "nemec"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: "-",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["cs"],
        zones: &["Europe/Prague"],
        phones: &["+420 2## ### ###", "+420 6## ### ###", "+420 7## ### ###"],
        domains: &["example.cz", "priklad.cz"],
        notes: &["Kontakt pro povolení."],
        bodies: &["Povodí Vltavy", "Magistrát hlavního města Prahy"],
        departments: &["Odbor povolení", "Tiskové oddělení"],
        company: "{} a syn s.r.o.",
        places: &["Brno", "Plzeň", "Olomouc", "České Budějovice"],
        community: "Spolek občanů {}",
        roles: &["Tisková mluvčí", "Vedoucí odboru"],
    },
    Culture {
        weight: 4,
        given: &[
            ("Şükrü", "sukru"),
            ("Ayşe", "ayse"),
            ("Çağla", "cagla"),
            ("Gökhan", "gokhan"),
            ("Özlem", "ozlem"),
            ("Mehmet", "mehmet"),
            ("Elif", "elif"),
            ("İbrahim", "ibrahim"),
            ("Gülşen", "gulsen"),
            ("Barış", "baris"),
            ("Emre", "emre"),
            ("Zeynep", "zeynep"),
            ("Oğuz", "oguz"),
            ("Derya", "derya"),
        ],
        family: &[
            ("Yılmaz", "yilmaz"),
            ("Çelik", "celik"),
            ("Öztürk", "ozturk"),
            ("Şahin", "sahin"),
            ("Doğan", "dogan"),
            ("Aydın", "aydin"),
            ("Kılıç", "kilic"),
            ("Arslan", "arslan"),
            ("Güneş", "gunes"),
            ("Erdoğan", "erdogan"),
            ("Yıldız", "yildiz"),
            ("Koç", "koc"),
            ("Kaya", "kaya"),
            ("Özdemir", "ozdemir"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: "-",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["tr"],
        zones: &["Europe/Istanbul"],
        phones: &["+90 212 ### ## ##", "+90 312 ### ## ##", "+90 5## ### ## ##"],
        domains: &["example.com.tr", "ornek.com.tr"],
        notes: &["İzinler için irtibat kişisi."],
        bodies: &[
            "İstanbul Su ve Kanalizasyon İdaresi",
            "Çevre, Şehircilik ve İklim Değişikliği Bakanlığı",
            "Ankara Büyükşehir Belediyesi",
        ],
        departments: &["İzin Dairesi", "Basın Bürosu", "Hukuk Müşavirliği"],
        company: "{} İnşaat A.Ş.",
        places: &["İzmir", "Bursa", "Eskişehir", "Trabzon"],
        community: "{} Mahalle Derneği",
        roles: &["Basın sözcüsü", "Daire başkanı", "Uzman"],
    },
    Culture {
        weight: 4,
        given: &[
            ("Thị Hương", "huong"),
            ("Văn Minh", "minh"),
            ("Thu Trang", "trang"),
            ("Quốc Bảo", "bao"),
            ("Ngọc Ánh", "anh"),
            ("Đức Anh", "ducanh"),
            ("Thanh Hà", "ha"),
            ("Hoàng Long", "long"),
            ("Minh Châu", "chau"),
            ("Văn Đức", "duc"),
            ("Thị Lan", "lan"),
            ("Hữu Phước", "phuoc"),
        ],
        family: &[
            ("Nguyễn", "nguyen"),
            ("Trần", "tran"),
            ("Lê", "le"),
            ("Phạm", "pham"),
            ("Hoàng", "hoang"),
            ("Đặng", "dang"),
            ("Bùi", "bui"),
            ("Võ", "vo"),
            ("Đỗ", "do"),
            ("Huỳnh", "huynh"),
            ("Phan", "phan"),
            ("Vũ", "vu"),
        ],
        order: Order::FamilyGiven,
        double_family: 0,
        double_join: " ",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["vi"],
        zones: &["Asia/Ho_Chi_Minh"],
        phones: &["+84 24 #### ####", "+84 28 #### ####", "+84 9# ### ## ##"],
        domains: &["example.vn", "vidu.vn"],
        notes: &["Liên hệ về giấy phép."],
        bodies: &["Bộ Tài nguyên và Môi trường", "Sở Xây dựng Hà Nội", "Ủy ban nhân dân Thành phố Hồ Chí Minh"],
        departments: &["Phòng Cấp phép", "Văn phòng Báo chí", "Phòng Pháp chế"],
        company: "Công ty TNHH {}",
        places: &["Hà Nội", "Đà Nẵng", "Huế", "Cần Thơ"],
        community: "Hội Cư dân {}",
        roles: &["Trưởng phòng", "Chuyên viên", "Người phát ngôn"],
    },
    Culture {
        weight: 3,
        given: &[
            ("Søren", "soren"),
            ("Åse", "ase"),
            ("Bjørn", "bjorn"),
            ("Ingrid", "ingrid"),
            ("Mette", "mette"),
            ("Sigrid", "sigrid"),
            ("Øystein", "oystein"),
            ("Astrid", "astrid"),
            ("Lars", "lars"),
            ("Kjersti", "kjersti"),
            ("Märta", "marta"),
            ("Jörgen", "jorgen"),
        ],
        family: &[
            ("Ødegård", "odegard"),
            ("Sørensen", "sorensen"),
            ("Ångström", "angstrom"),
            ("Bjørklund", "bjorklund"),
            ("Hansen", "hansen"),
            ("Lindqvist", "lindqvist"),
            ("Åberg", "aberg"),
            ("Nyström", "nystrom"),
            ("Løvland", "lovland"),
            ("Kjær", "kjaer"),
            ("Sjöberg", "sjoberg"),
            ("Dahl", "dahl"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: "-",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["nb", "da", "sv"],
        zones: &["Europe/Oslo", "Europe/Copenhagen", "Europe/Stockholm", "Europe/Helsinki"],
        phones: &["+47 ### ## ###", "+45 ## ## ## ##", "+46 8 ### ### ##", "+358 9 #### ####"],
        domains: &["example.no", "example.dk", "example.se"],
        notes: &["Kontaktperson for tillatelser."],
        bodies: &["Norges vassdrags- og energidirektorat", "Miljøstyrelsen", "Naturvårdsverket", "Oslo kommune"],
        departments: &["Tillatelser", "Presseavdelingen", "Juridisk avdeling"],
        company: "{} Bygg AS",
        places: &["Bergen", "Trondheim", "Århus", "Göteborg", "Malmö"],
        community: "Velforeningen {}",
        roles: &["Pressekontakt", "Avdelingsleder", "Rådgiver"],
    },
    Culture {
        weight: 6,
        given: &[
            ("Дмитрий", "dmitriy"),
            ("Анна", "anna"),
            ("Сергей", "sergey"),
            ("Екатерина", "ekaterina"),
            ("Алексей", "aleksey"),
            ("Ольга", "olga"),
            ("Наталья", "natalya"),
            ("Иван", "ivan"),
            ("Юлия", "yuliya"),
            ("Михаил", "mikhail"),
            ("Татьяна", "tatyana"),
            ("Николай", "nikolay"),
            ("Ксения", "kseniya"),
            ("Пётр", "pyotr"),
        ],
        family: &[
            ("Иванов", "ivanov"),
            ("Смирнов", "smirnov"),
            ("Кузнецов", "kuznetsov"),
            ("Попов", "popov"),
            ("Соколов", "sokolov"),
            ("Лебедев", "lebedev"),
            ("Фёдоров", "fedorov"),
            ("Волкова", "volkova"),
            ("Морозова", "morozova"),
            ("Новикова", "novikova"),
            ("Козлов", "kozlov"),
            ("Васильева", "vasilyeva"),
            ("Жуков", "zhukov"),
            ("Щербаков", "shcherbakov"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: "-",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["ru"],
        zones: &["Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk"],
        phones: &["+7 495 ###-##-##", "+7 812 ###-##-##", "+7 9## ###-##-##"],
        domains: &["example.ru", "primer.ru"],
        notes: &["Контакт по вопросам разрешений.", "Интересуется транспортом, просил позвонить в среду."],
        bodies: &[
            "Федеральное агентство водных ресурсов",
            "Министерство природных ресурсов",
            "Правительство Москвы",
            "Мосводоканал",
        ],
        departments: &["Отдел разрешений", "Пресс-служба", "Юридический отдел"],
        company: "ООО «{} и партнёры»",
        places: &["Казань", "Самара", "Тверь", "Пермь"],
        community: "Совет жителей района {}",
        roles: &["Пресс-секретарь", "Начальник отдела", "Ведущий специалист"],
    },
    Culture {
        weight: 3,
        given: &[
            ("Олена", "olena"),
            ("Тарас", "taras"),
            ("Оксана", "oksana"),
            ("Богдан", "bohdan"),
            ("Ірина", "iryna"),
            ("Андрій", "andriy"),
            ("Юлія", "yuliia"),
            ("Остап", "ostap"),
            ("Галина", "halyna"),
            ("Євген", "yevhen"),
        ],
        family: &[
            ("Шевченко", "shevchenko"),
            ("Коваленко", "kovalenko"),
            ("Бондаренко", "bondarenko"),
            ("Ткаченко", "tkachenko"),
            ("Кравчук", "kravchuk"),
            ("Мельник", "melnyk"),
            ("Олійник", "oliinyk"),
            ("Савченко", "savchenko"),
            ("Лисенко", "lysenko"),
            ("Гнатюк", "hnatiuk"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: "-",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["uk"],
        zones: &["Europe/Kyiv"],
        phones: &["+380 44 ### ## ##", "+380 67 ### ## ##", "+380 50 ### ## ##"],
        domains: &["example.ua", "pryklad.ua"],
        notes: &["Контакт щодо дозволів."],
        bodies: &["Київська міська державна адміністрація", "Державне агентство водних ресурсів України"],
        departments: &["Відділ дозволів", "Пресслужба"],
        company: "ТОВ «{} Буд»",
        places: &["Львів", "Одеса", "Харків", "Полтава"],
        community: "Громадська рада {}",
        roles: &["Речниця", "Начальник відділу"],
    },
    Culture {
        weight: 3,
        given: &[
            ("Γιώργος", "giorgos"),
            ("Μαρία", "maria"),
            ("Δημήτρης", "dimitris"),
            ("Ελένη", "eleni"),
            ("Νίκος", "nikos"),
            ("Κατερίνα", "katerina"),
            ("Σοφία", "sofia"),
            ("Κωνσταντίνος", "konstantinos"),
            ("Αθηνά", "athina"),
            ("Παναγιώτης", "panagiotis"),
            ("Ιωάννα", "ioanna"),
            ("Χρήστος", "christos"),
        ],
        family: &[
            ("Παπαδόπουλος", "papadopoulos"),
            ("Οικονόμου", "oikonomou"),
            ("Γεωργίου", "georgiou"),
            ("Νικολάου", "nikolaou"),
            ("Παπαδάκη", "papadaki"),
            ("Βασιλείου", "vasileiou"),
            ("Αθανασίου", "athanasiou"),
            ("Καραγιάννη", "karagianni"),
            ("Ιωαννίδης", "ioannidis"),
            ("Μαυρίδου", "mavridou"),
            ("Χατζηδάκης", "chatzidakis"),
            ("Λαμπράκη", "lambraki"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: "-",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["el"],
        zones: &["Europe/Athens", "Asia/Nicosia"],
        phones: &["+30 21# ### ####", "+30 69# ### ####", "+357 22 ######"],
        domains: &["example.gr", "paradeigma.gr", "example.com.cy"],
        notes: &["Επαφή για άδειες."],
        bodies: &["Υπουργείο Περιβάλλοντος και Ενέργειας", "Δήμος Αθηναίων", "ΕΥΔΑΠ"],
        departments: &["Τμήμα Αδειοδότησης", "Γραφείο Τύπου", "Νομική Υπηρεσία"],
        company: "{} Α.Ε.",
        places: &["Θεσσαλονίκη", "Πάτρα", "Ηράκλειο", "Λάρισα"],
        community: "Σύλλογος Κατοίκων {}",
        roles: &["Εκπρόσωπος Τύπου", "Προϊστάμενος", "Σύμβουλος"],
    },
    Culture {
        weight: 7,
        given: &[
            ("محمد", "mohamed"),
            ("فاطمة", "fatima"),
            ("أحمد", "ahmed"),
            ("ليلى", "layla"),
            ("يوسف", "youssef"),
            ("مريم", "maryam"),
            ("عمر", "omar"),
            ("نور", "nour"),
            ("خالد", "khaled"),
            ("سارة", "sara"),
            ("حسن", "hassan"),
            ("رنا", "rana"),
            ("إبراهيم", "ibrahim"),
            ("هدى", "huda"),
        ],
        family: &[
            ("الأحمد", "alahmad"),
            ("الحسيني", "alhusseini"),
            ("المصري", "almasri"),
            ("حداد", "haddad"),
            ("خوري", "khoury"),
            ("العلي", "alali"),
            ("منصور", "mansour"),
            ("الشامي", "alshami"),
            ("عبد الله", "abdullah"),
            ("الزين", "alzein"),
            ("بن علي", "benali"),
            ("التميمي", "altamimi"),
            ("الخطيب", "alkhatib"),
            ("سليمان", "suleiman"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: " ",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["ar", "ar-EG", "ar-AE"],
        zones: &[
            "Asia/Dubai",
            "Africa/Cairo",
            "Asia/Riyadh",
            "Asia/Beirut",
            "Africa/Casablanca",
            "Asia/Amman",
            "Africa/Tunis",
        ],
        phones: &[
            "+971 4 ### ####",
            "+971 50 ### ####",
            "+20 2 #### ####",
            "+20 10 #### ####",
            "+966 11 ### ####",
            "+961 1 ### ###",
            "+212 5## ######",
        ],
        domains: &["example.ae", "example.eg", "example.sa", "example.ma"],
        notes: &["مهتم بقضايا المياه.", "يفضّل التواصل بالبريد الإلكتروني."],
        bodies: &["وزارة الطاقة والبنية التحتية", "بلدية دبي", "الهيئة العامة للمياه", "محافظة القاهرة"],
        departments: &["قسم التراخيص", "المكتب الإعلامي", "الشؤون القانونية"],
        company: "شركة {} للمقاولات",
        places: &["دبي", "الإسكندرية", "عمّان", "بيروت"],
        community: "جمعية سكان {}",
        roles: &["المتحدث الرسمي", "مدير المشروع", "مستشار"],
    },
    Culture {
        weight: 7,
        given: &[
            ("伟", "wei"),
            ("芳", "fang"),
            ("娜", "na"),
            ("秀英", "xiuying"),
            ("敏", "min"),
            ("静", "jing"),
            ("丽", "li"),
            ("强", "qiang"),
            ("磊", "lei"),
            ("军", "jun"),
            ("洋", "yang"),
            ("艳", "yan"),
            ("勇", "yong"),
            ("杰", "jie"),
            ("婷", "ting"),
            ("子涵", "zihan"),
            ("浩然", "haoran"),
            ("雨桐", "yutong"),
        ],
        family: &[
            ("王", "wang"),
            ("李", "li"),
            ("张", "zhang"),
            ("刘", "liu"),
            ("陈", "chen"),
            ("杨", "yang"),
            ("黄", "huang"),
            ("赵", "zhao"),
            ("吴", "wu"),
            ("周", "zhou"),
            ("徐", "xu"),
            ("孙", "sun"),
            ("欧阳", "ouyang"),
            ("林", "lin"),
            ("郭", "guo"),
            ("何", "he"),
        ],
        order: Order::FamilyGivenJoined,
        double_family: 0,
        double_join: "",
        compound_given: 0,
        compound_join: "",
        middle_initial: 0,
        languages: &["zh-Hans", "zh-Hant-TW", "zh-Hans-SG"],
        zones: &["Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore"],
        phones: &[
            "+86 10 #### ####",
            "+86 21 #### ####",
            "+86 13# #### ####",
            "+852 N### ####",
            "+886 2 #### ####",
            "+65 6### ####",
        ],
        domains: &["example.cn", "example.com.cn", "example.hk", "example.tw"],
        notes: &["关注住房问题。", "水务项目联系人。"],
        bodies: &["水利部", "上海市生态环境局", "北京市水务局", "台北市政府環境保護局"],
        departments: &["许可处", "新闻办公室", "法规处"],
        company: "{}氏建筑有限公司",
        places: &["杭州", "成都", "武汉", "深圳"],
        community: "{}社区居民委员会",
        roles: &["处长", "新闻发言人", "主任", "工程师"],
    },
    Culture {
        weight: 5,
        given: &[
            ("健太", "kenta"),
            ("陽菜", "hina"),
            ("さくら", "sakura"),
            ("翔", "sho"),
            ("ゆい", "yui"),
            ("美咲", "misaki"),
            ("大輔", "daisuke"),
            ("あおい", "aoi"),
            ("蓮", "ren"),
            ("ひろし", "hiroshi"),
            ("カオリ", "kaori"),
            ("ケンジ", "kenji"),
            ("結衣", "yui"),
            ("拓海", "takumi"),
        ],
        family: &[
            ("佐藤", "sato"),
            ("鈴木", "suzuki"),
            ("高橋", "takahashi"),
            ("田中", "tanaka"),
            ("渡辺", "watanabe"),
            ("伊藤", "ito"),
            ("山本", "yamamoto"),
            ("中村", "nakamura"),
            ("小林", "kobayashi"),
            ("加藤", "kato"),
            ("さいとう", "saito"),
            ("ヤマダ", "yamada"),
            ("吉田", "yoshida"),
            ("松本", "matsumoto"),
        ],
        order: Order::FamilyGiven,
        double_family: 0,
        double_join: "",
        compound_given: 0,
        compound_join: "",
        middle_initial: 0,
        languages: &["ja"],
        zones: &["Asia/Tokyo"],
        phones: &["+81 3-####-####", "+81 6-####-####", "+81 90-####-####", "+81 80-####-####"],
        domains: &["example.jp", "example.co.jp"],
        notes: &["水道局の会議で紹介された。", "午前中の連絡を希望。"],
        bodies: &["東京都水道局", "国土交通省", "大阪市環境局", "環境省"],
        departments: &["許可課", "広報課", "法務課"],
        company: "株式会社{}建設",
        places: &["横浜", "名古屋", "札幌", "福岡"],
        community: "{}町内会",
        roles: &["課長", "広報担当", "主任", "係長"],
    },
    Culture {
        weight: 4,
        given: &[
            ("민준", "minjun"),
            ("서연", "seoyeon"),
            ("지훈", "jihun"),
            ("하은", "haeun"),
            ("도윤", "doyun"),
            ("수아", "sua"),
            ("예준", "yejun"),
            ("지우", "jiwoo"),
            ("현우", "hyunwoo"),
            ("은지", "eunji"),
            ("성민", "sungmin"),
            ("유진", "yujin"),
        ],
        family: &[
            ("김", "kim"),
            ("이", "lee"),
            ("박", "park"),
            ("최", "choi"),
            ("정", "jung"),
            ("강", "kang"),
            ("조", "cho"),
            ("윤", "yoon"),
            ("장", "jang"),
            ("임", "lim"),
            ("한", "han"),
            ("오", "oh"),
        ],
        order: Order::FamilyGivenJoined,
        double_family: 0,
        double_join: "",
        compound_given: 0,
        compound_join: "",
        middle_initial: 0,
        languages: &["ko"],
        zones: &["Asia/Seoul"],
        phones: &["+82 2-###-####", "+82 10-####-####", "+82 51-###-####"],
        domains: &["example.kr", "example.co.kr"],
        notes: &["인허가 담당자.", "오전 연락 선호."],
        bodies: &["환경부", "서울특별시 물순환안전국", "한국수자원공사"],
        departments: &["인허가과", "대변인실", "법무팀"],
        company: "{}건설 주식회사",
        places: &["부산", "인천", "대구", "광주"],
        community: "{} 주민자치회",
        roles: &["과장", "대변인", "주무관", "팀장"],
    },
    Culture {
        weight: 5,
        given: &[
            ("राहुल", "rahul"),
            ("प्रिया", "priya"),
            ("अमित", "amit"),
            ("सुनीता", "sunita"),
            ("विजय", "vijay"),
            ("अंजलि", "anjali"),
            ("संजय", "sanjay"),
            ("पूजा", "pooja"),
            ("अर्जुन", "arjun"),
            ("नेहा", "neha"),
            ("दीपक", "deepak"),
            ("कविता", "kavita"),
        ],
        family: &[
            ("शर्मा", "sharma"),
            ("वर्मा", "verma"),
            ("गुप्ता", "gupta"),
            ("सिंह", "singh"),
            ("कुमार", "kumar"),
            ("पटेल", "patel"),
            ("जोशी", "joshi"),
            ("मिश्रा", "mishra"),
            ("अग्रवाल", "agarwal"),
            ("यादव", "yadav"),
            ("चौधरी", "chaudhary"),
            ("त्रिपाठी", "tripathi"),
        ],
        order: Order::GivenFamily,
        double_family: 0,
        double_join: " ",
        compound_given: 0,
        compound_join: " ",
        middle_initial: 0,
        languages: &["hi", "en-IN"],
        zones: &["Asia/Kolkata"],
        phones: &["+91 98### #####", "+91 11 #### ####", "+91 22 ####-####", "+91 7#### #####"],
        domains: &["example.in", "example.co.in"],
        notes: &["जल परियोजना के संपर्क।"],
        bodies: &["जल शक्ति मंत्रालय", "दिल्ली जल बोर्ड", "बृहन्मुंबई महानगरपालिका"],
        departments: &["अनुमति विभाग", "प्रेस कार्यालय", "विधि विभाग"],
        company: "{} कंस्ट्रक्शन प्राइवेट लिमिटेड",
        places: &["लखनऊ", "जयपुर", "पुणे", "भोपाल"],
        community: "{} निवासी कल्याण संघ",
        roles: &["प्रवक्ता", "निदेशक", "अभियंता"],
    },
];

/// Labels of people: `,`-free, lower case (the service's label rule).
const LABELS: &[&str] = &[
    "press",
    "board",
    "donor",
    "volunteer",
    "partner",
    "vip",
    "newsletter",
    "residents",
    "elected-official",
    "region:north",
    "region:south",
    "region:east",
    "region:west",
    "event:summit-2026",
    "topic:water",
    "topic:housing",
    "topic:transport",
];

/// Labels of organisations.
const ORGANIZATION_LABELS: &[&str] = &["partner", "funder", "regulator", "press", "topic:water", "topic:housing"];

/// NGOs (with a place of their culture: national branches).
const NGOS: &[&str] = &[
    "Rivers Without Borders",
    "Clean Water Alliance",
    "Open Streets Coalition",
    "Housing Rights Watch",
    "Médecins pour l'eau",
    "Stiftung Lebendige Flüsse",
    "Fundación Agua Viva",
];

/// The preferred channels (the service's names) and how often each is picked, per mille of those who have one.
const CHANNELS: &[(&str, u32)] = &[("email", 500), ("phone", 250), ("sms", 100), ("video", 100), ("in_person", 50)];

/// An email address or phone number and its type as a CSV prefix (`home:`; empty for work).
pub(crate) type Channel = (&'static str, String);

/// Consent as the CSV columns say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Consent {
    None,
    DoNotContact,
    /// Email and phone allowed, on the basis of consent given on that date (`YYYY-MM-DD`).
    Allowed(String),
}

/// One person of the register, as the import file holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Person {
    pub(crate) display_name: String,
    pub(crate) given_name: String,
    pub(crate) family_name: String,
    pub(crate) emails: Vec<Channel>,
    pub(crate) phones: Vec<Channel>,
    pub(crate) preferred_channel: &'static str,
    pub(crate) languages: Vec<&'static str>,
    pub(crate) time_zone: &'static str,
    /// Monday to Friday, `(start hour, end hour)` in its time zone.
    pub(crate) working_hours: Option<(u8, u8)>,
    pub(crate) labels: Vec<&'static str>,
    pub(crate) consent: Consent,
    pub(crate) notes: &'static str,
    /// The earlier record this one is a near-duplicate of.
    pub(crate) duplicate_of: Option<u64>,
}

/// The generator of record `i` of `seed` (the stream `salt` of it: people, affiliations, queries).
fn rng_of(seed: u64, salt: u64, i: u64) -> StdRng {
    // SplitMix64's finaliser: neighbouring records get unrelated generators.
    let mut z = seed ^ salt.rotate_left(32) ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

const PEOPLE: u64 = 1;
const AFFILIATIONS: u64 = 2;
const QUERIES: u64 = 3;
const ORGS: u64 = 4;

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn percent(rng: &mut StdRng, p: u32) -> bool {
    rng.random_range(0..100) < p
}

fn culture(rng: &mut StdRng) -> &'static Culture {
    let total: u32 = CULTURES.iter().map(|c| c.weight).sum();
    let mut draw = rng.random_range(0..total);
    for culture in CULTURES {
        if draw < culture.weight {
            return culture;
        }
        draw -= culture.weight;
    }
    &CULTURES[0]
}

/// The first draw of record `i`'s generator, always made: whether it is a near-duplicate (record 0 never is).
fn duplicate_draw(rng: &mut StdRng, i: u64) -> bool {
    let draw: u64 = rng.random_range(0..1000);
    i > 0 && draw < DUPLICATE_PER_MILLE
}

fn is_duplicate(seed: u64, i: u64) -> bool {
    duplicate_draw(&mut rng_of(seed, PEOPLE, i), i)
}

/// Record `i` of the register of `seed`.
pub(crate) fn person(seed: u64, i: u64) -> Person {
    let mut rng = rng_of(seed, PEOPLE, i);
    if !duplicate_draw(&mut rng, i) {
        return fresh(&mut rng);
    }
    // The original: an earlier record that is not itself a near-duplicate (record 0 never is).
    let mut original = i - 1 - rng.random_range(0..i.min(DUPLICATE_REACH));
    while is_duplicate(seed, original) {
        original -= 1;
    }
    let mut original_rng = rng_of(seed, PEOPLE, original);
    duplicate_draw(&mut original_rng, original);
    let mut person = fresh(&mut original_rng);
    retype(&mut person, &mut rng);
    person.duplicate_of = Some(original);
    person
}

/// A person of their own.
fn fresh(rng: &mut StdRng) -> Person {
    let culture = culture(rng);
    let (given, given_ascii) = name(rng, culture.given, culture.compound_given, culture.compound_join);
    let (family, family_ascii) = name(rng, culture.family, culture.double_family, culture.double_join);
    let middle = percent(rng, culture.middle_initial);
    let display_name = match culture.order {
        Order::GivenFamily if middle => {
            format!("{given} {}. {family}", char::from(b'A' + rng.random_range(0..26u8)))
        }
        Order::GivenFamily => format!("{given} {family}"),
        Order::FamilyGiven => format!("{family} {given}"),
        Order::FamilyGivenJoined => format!("{family}{given}"),
    };
    let mut emails = vec![("", email(rng, culture, &given_ascii, &family_ascii))];
    if percent(rng, 35) {
        let home = email(rng, culture, &given_ascii, &family_ascii);
        if !home.eq_ignore_ascii_case(&emails[0].1) {
            emails.push(("home:", home));
        }
    }
    let mut phones: Vec<Channel> = Vec::new();
    let count = match rng.random_range(0..4) {
        0 => 0,
        1 | 2 => 1,
        _ => 2,
    };
    for n in 0..count {
        let kind = match (n, rng.random_range(0..3)) {
            (0, 0) => "mobile:",
            (0, _) => "",
            (_, 0) => "home:",
            _ => "mobile:",
        };
        let pattern = *pick(rng, culture.phones);
        let number = phone(rng, pattern);
        if !phones.iter().any(|(_, other)| digits(other) == digits(&number)) {
            phones.push((kind, number));
        }
    }
    let preferred_channel = if percent(rng, 40) {
        let mut draw = rng.random_range(0..1000);
        CHANNELS
            .iter()
            .find(|(_, weight)| {
                let hit = draw < *weight;
                draw = draw.saturating_sub(*weight);
                hit
            })
            .map_or("email", |(name, _)| *name)
    } else {
        ""
    };
    let mut languages = Vec::new();
    if percent(rng, 90) {
        languages
            .push(culture.languages[if percent(rng, 70) { 0 } else { rng.random_range(0..culture.languages.len()) }]);
    }
    if percent(rng, 30) && !languages.iter().any(|l| l.starts_with("en")) {
        languages.push("en");
    }
    let time_zone = if percent(rng, 85) { *pick(rng, culture.zones) } else { "" };
    let working_hours = (!time_zone.is_empty() && percent(rng, 15)).then(|| {
        let start = rng.random_range(7..=10u8);
        (start, start + 8)
    });
    let mut labels: Vec<&'static str> = Vec::new();
    let label_count = match rng.random_range(0..100) {
        0..40 => 0,
        40..75 => 1,
        75..93 => 2,
        _ => 3,
    };
    for _ in 0..label_count {
        let label = *pick(rng, LABELS);
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    let consent = match rng.random_range(0..100) {
        0..3 => Consent::DoNotContact,
        3..15 => Consent::Allowed(format!(
            "{}-{:02}-{:02}",
            rng.random_range(2019..=2025),
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        )),
        _ => Consent::None,
    };
    let notes = if percent(rng, 20) { *pick(rng, culture.notes) } else { "" };
    Person {
        display_name,
        given_name: given,
        family_name: family,
        emails,
        phones,
        preferred_channel,
        languages,
        time_zone,
        working_hours,
        labels,
        consent,
        notes,
        duplicate_of: None,
    }
}

/// A name of `names`, or two of them joined by `join` (`per_cent` of the time), with its romanised form.
fn name(rng: &mut StdRng, names: &[(&str, &str)], per_cent: u32, join: &str) -> (String, String) {
    let (first, first_ascii) = *pick(rng, names);
    if !percent(rng, per_cent) {
        return (first.to_owned(), first_ascii.to_owned());
    }
    let (second, second_ascii) = *pick(rng, names);
    if second == first {
        return (first.to_owned(), first_ascii.to_owned());
    }
    (format!("{first}{join}{second}"), format!("{first_ascii}{second_ascii}"))
}

/// An address made from the romanised names: `zoe.lefevre84@example.fr`, `zlefevre@…`, `lefevre.zoe@…`.
fn email(rng: &mut StdRng, culture: &Culture, given: &str, family: &str) -> String {
    let clean = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    let (given, family) = (clean(given), clean(family));
    let initial = given.chars().next().map(String::from).unwrap_or_default();
    let local = match rng.random_range(0..4) {
        0 => format!("{given}.{family}"),
        1 => format!("{initial}{family}"),
        2 => format!("{family}.{given}"),
        _ => format!("{given}{family}"),
    };
    // Most people's address carries a number: names repeat, addresses must not (often).
    let number = if percent(rng, 75) { rng.random_range(1..10_000).to_string() } else { String::new() };
    format!("{local}{number}@{}", pick(rng, culture.domains))
}

/// `pattern` with its `#` and `N` replaced by digits.
fn phone(rng: &mut StdRng, pattern: &str) -> String {
    pattern
        .chars()
        .map(|c| match c {
            '#' => char::from(b'0' + rng.random_range(0..10u8)),
            'N' => char::from(b'0' + rng.random_range(2..10u8)),
            other => other,
        })
        .collect()
}

fn digits(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    digits.strip_prefix("00").map(str::to_owned).unwrap_or(digits)
}

/// `person` typed in again: with a typo in the family name (when it is long enough to have one), or with the first
/// email address in other letter case.
fn retype(person: &mut Person, rng: &mut StdRng) {
    let family: Vec<char> = person.family_name.chars().collect();
    if family.len() >= 4 && percent(rng, 50) {
        let typo = typo(&family, rng);
        person.display_name = person.display_name.replacen(&person.family_name, &typo, 1);
        person.family_name = typo;
        // Typed in by someone else: no phone, or a home address instead of the work one.
        if percent(rng, 50) {
            person.phones.clear();
        }
        if person.emails.len() > 1 {
            person.emails.remove(0);
        }
        return;
    }
    if let Some((_, address)) = person.emails.first_mut() {
        *address = capitalised(address, rng);
    }
    person.labels.clear();
}

/// A one-letter typo of `word`: an accent lost, two neighbouring letters swapped, or a letter dropped (never the
/// first letter, nor a hyphen or a space).
fn typo(word: &[char], rng: &mut StdRng) -> String {
    let accented: Vec<usize> = (0..word.len()).filter(|i| unaccented(word[*i]) != word[*i]).collect();
    let swappable: Vec<usize> = (1..word.len().saturating_sub(1))
        .filter(|i| word[*i].is_alphabetic() && word[i + 1].is_alphabetic() && word[*i] != word[i + 1])
        .collect();
    let droppable: Vec<usize> = (1..word.len()).filter(|i| word[*i].is_alphabetic()).collect();
    let mut out = word.to_vec();
    match rng.random_range(0..3) {
        0 if !accented.is_empty() => {
            let at = accented[rng.random_range(0..accented.len())];
            out[at] = unaccented(word[at]);
        }
        1 if !swappable.is_empty() => {
            let at = swappable[rng.random_range(0..swappable.len())];
            out.swap(at, at + 1);
        }
        _ if !droppable.is_empty() => {
            out.remove(droppable[rng.random_range(0..droppable.len())]);
        }
        _ => {}
    }
    out.into_iter().collect()
}

/// The letter without its accent, for the accented letters of the names here.
fn unaccented(c: char) -> char {
    const FROM: &str = "àáâãäåçèéêëìíîïñòóôõöøùúûüýÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝąćęłńśźżĄĆĘŁŃŚŹŻčďěňřšťůžČĎĚŇŘŠŤŮŽğışĞİŞ";
    const TO: &str = "aaaaaaceeeeiiiinoooooouuuuyAAAAAACEEEEIIIINOOOOOOUUUUYacelnszzACELNSZZcdenrstuzCDENRSTUZgisGIS";
    FROM.chars().position(|f| f == c).and_then(|at| TO.chars().nth(at)).unwrap_or(c)
}

/// The address as someone else typed it: `zoe.lefevre84@example.fr` → `Zoe.Lefevre84@example.fr`, or all in
/// capitals.
fn capitalised(address: &str, rng: &mut StdRng) -> String {
    if percent(rng, 30) {
        return address.to_uppercase();
    }
    let (local, domain) = address.split_once('@').unwrap_or((address, ""));
    let mut out = String::with_capacity(address.len());
    let mut start = true;
    for c in local.chars() {
        out.extend(if start { c.to_uppercase().collect::<Vec<_>>() } else { vec![c] });
        start = matches!(c, '.' | '_' | '-');
    }
    format!("{out}@{domain}")
}

/// Appends `person` as a CSV row of [`CSV_HEADER`]'s columns, CRLF-terminated.
pub(crate) fn write_csv_row(out: &mut String, person: &Person) {
    let list = |channels: &[Channel]| channels.iter().map(|(kind, value)| format!("{kind}{value}")).collect::<Vec<_>>();
    let hours = person.working_hours.map_or_else(String::new, |(start, end)| {
        ["MO", "TU", "WE", "TH", "FR"].map(|day| format!("{day} {start:02}:00-{end:02}:00")).join(";")
    });
    let (do_not_contact, channels, basis, since) = match &person.consent {
        Consent::None => ("", "", "", ""),
        Consent::DoNotContact => ("true", "", "", ""),
        Consent::Allowed(since) => ("", "email;phone", "consent", since.as_str()),
    };
    let cells: [&str; 15] = [
        person.display_name.as_str(),
        &person.given_name,
        &person.family_name,
        &list(&person.emails).join(";"),
        &list(&person.phones).join(";"),
        person.preferred_channel,
        &person.languages.join(";"),
        person.time_zone,
        &hours,
        &person.labels.join(";"),
        do_not_contact,
        channels,
        basis,
        since,
        person.notes,
    ];
    for (index, cell) in cells.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\n', '\r']) {
            let _ = write!(out, "\"{}\"", cell.replace('"', "\"\""));
        } else {
            out.push_str(cell);
        }
    }
    out.push_str("\r\n");
}

/// An organisation to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrganizationSpec {
    pub(crate) display_name: String,
    /// `OrganizationKind` on the wire.
    pub(crate) kind: i32,
    /// The index (in the list) of the organisation it is part of: always an earlier one.
    pub(crate) parent: Option<usize>,
    pub(crate) website: String,
    pub(crate) labels: Vec<&'static str>,
    /// The roles its people have.
    pub(crate) roles: &'static [&'static str],
}

/// The [`ORGANIZATIONS`] organisations of `seed`: every culture's agencies and government bodies first, their
/// departments next (each under its body), then companies, NGOs and community groups.
pub(crate) fn organizations(seed: u64) -> Vec<OrganizationSpec> {
    use liaison_proto::contacts::v1::OrganizationKind as Kind;
    let mut rng = rng_of(seed, ORGS, 0);
    let mut specs = Vec::with_capacity(ORGANIZATIONS);
    fn add(
        specs: &mut Vec<OrganizationSpec>,
        rng: &mut StdRng,
        display_name: String,
        kind: Kind,
        parent: Option<usize>,
        roles: &'static [&'static str],
    ) {
        let website =
            if percent(rng, 60) { format!("https://www.org{}.example.org/", specs.len()) } else { String::new() };
        let labels = if percent(rng, 50) { vec![*pick(rng, ORGANIZATION_LABELS)] } else { Vec::new() };
        specs.push(OrganizationSpec { display_name, kind: kind as i32, parent, website, labels, roles });
    }
    let mut bodies = Vec::new();
    for culture in CULTURES {
        for (n, body) in culture.bodies.iter().enumerate() {
            bodies.push((specs.len(), culture));
            let kind = if n % 2 == 0 { Kind::GovernmentBody } else { Kind::Agency };
            add(&mut specs, &mut rng, (*body).to_owned(), kind, None, culture.roles);
        }
    }
    for (body, culture) in bodies {
        for d in 0..DEPARTMENTS_PER_BODY {
            let department = culture.departments[(body + d) % culture.departments.len()];
            add(&mut specs, &mut rng, department.to_owned(), Kind::Department, Some(body), culture.roles);
        }
    }
    while specs.len() < ORGANIZATIONS {
        let culture = culture(&mut rng);
        let place = *pick(&mut rng, culture.places);
        let (name, kind) = match rng.random_range(0..10) {
            0..6 => (culture.company.replace("{}", pick(&mut rng, culture.family).0), Kind::Company),
            6..8 => (format!("{} — {place}", pick(&mut rng, NGOS)), Kind::Ngo),
            _ => (culture.community.replace("{}", place), Kind::CommunityGroup),
        };
        add(&mut specs, &mut rng, name, kind, None, culture.roles);
    }
    specs.truncate(ORGANIZATIONS);
    specs
}

/// Whether record `i` of `seed` is affiliated, and with which of `organizations` organisations (an index), as what,
/// since when (year, month, day).
pub(crate) fn affiliation(
    seed: u64,
    i: u64,
    organizations: &[OrganizationSpec],
) -> Option<(usize, &'static str, (i32, i32, i32))> {
    let mut rng = rng_of(seed, AFFILIATIONS, i);
    if organizations.is_empty() || rng.random_range(0..1000) >= AFFILIATED_PER_MILLE {
        return None;
    }
    let organization = rng.random_range(0..organizations.len());
    let role = *pick(&mut rng, organizations[organization].roles);
    let since = (rng.random_range(2010..=2025), rng.random_range(1..=12), rng.random_range(1..=28));
    Some((organization, role, since))
}

/// What SearchContacts asks, drawn from the register's names: one word of a name, a given and a family name
/// together, and one word with a letter left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Queries {
    pub(crate) one_word: Vec<String>,
    pub(crate) two_words: Vec<String>,
    pub(crate) typo: Vec<String>,
}

/// The words of a name, as people type them (at spaces and hyphens; `O'Brien` is one).
fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| c.is_whitespace() || c == '-').filter(|w| !w.is_empty())
}

/// `count` queries of each kind, from records spread over the `total` of the register of `seed`.
pub(crate) fn queries(seed: u64, total: u64, count: usize) -> Queries {
    let mut rng = rng_of(seed, QUERIES, total);
    let mut queries = Queries::default();
    let mut attempts = 0;
    while total > 0 && queries.typo.len() < count && attempts < count * 100 {
        attempts += 1;
        let person = person(seed, rng.random_range(0..total));
        let (Some(given), Some(family)) = (words(&person.given_name).next(), words(&person.family_name).next()) else {
            continue;
        };
        if queries.one_word.len() < count {
            queries.one_word.push(if percent(&mut rng, 50) { family } else { given }.to_owned());
        }
        if queries.two_words.len() < count {
            queries.two_words.push(format!("{given} {family}"));
        }
        // A letter dropped from a word of at least four letters, not the first: only in alphabets of one code
        // point per letter (Latin, Greek, Cyrillic, Arabic), where dropping one is a typo and not half a syllable.
        let candidate = [family, given]
            .into_iter()
            .find(|w| w.chars().count() >= 4 && w.chars().all(|c| c.is_alphabetic() && u32::from(c) < 0x0800));
        if let Some(word) = candidate {
            let mut letters: Vec<char> = word.chars().collect();
            letters.remove(1 + rng.random_range(0..letters.len() - 1));
            queries.typo.push(letters.into_iter().collect());
        }
    }
    queries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone_ok(number: &str) -> bool {
        let compact: String = number.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let digits = compact.strip_prefix('+').or_else(|| compact.strip_prefix("00"));
        digits.is_some_and(|d| {
            (8..=15).contains(&d.len()) && d.chars().all(|c| c.is_ascii_digit()) && !d.starts_with('0')
        })
    }

    fn email_ok(address: &str) -> bool {
        let Some((local, domain)) = address.rsplit_once('@') else { return false };
        !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
            && domain.split('.').count() >= 2
            && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    }

    #[test]
    fn records_are_the_same_on_every_run_and_differ_between_seeds() {
        for i in [0u64, 1, 2, 999, 123_456] {
            assert_eq!(person(22, i), person(22, i));
        }
        let differ = (0..100u64).filter(|i| person(22, *i) != person(23, *i)).count();
        assert!(differ > 95, "{differ}");
        assert_eq!(organizations(22), organizations(22));
        assert_eq!(queries(22, 5000, 50), queries(22, 5000, 50));
    }

    #[test]
    fn every_record_passes_the_services_rules() {
        for i in 0..20_000u64 {
            let p = person(22, i);
            let at = format!("record {i}: {p:?}");
            assert!(!p.display_name.trim().is_empty() && p.display_name.chars().count() <= 200, "{at}");
            assert!(p.given_name.chars().count() <= 100 && p.family_name.chars().count() <= 100, "{at}");
            assert!(!p.emails.is_empty() && p.emails.iter().all(|(_, e)| email_ok(e)), "{at}");
            let lower: std::collections::HashSet<String> = p.emails.iter().map(|(_, e)| e.to_lowercase()).collect();
            assert_eq!(lower.len(), p.emails.len(), "no address twice: {at}");
            assert!(p.phones.len() <= 2 && p.phones.iter().all(|(_, n)| phone_ok(n)), "{at}");
            let numbers: std::collections::HashSet<String> = p.phones.iter().map(|(_, n)| digits(n)).collect();
            assert_eq!(numbers.len(), p.phones.len(), "no number twice: {at}");
            assert!(p.working_hours.is_none() || !p.time_zone.is_empty(), "hours need a zone: {at}");
            assert!(p.labels.len() <= 3, "{at}");
        }
    }

    #[test]
    fn time_zones_and_labels_are_what_the_service_takes() {
        for culture in CULTURES {
            for zone in culture.zones {
                assert!(liaison_runtime::api::validate::TimeZone::parse("z", zone).is_ok(), "{zone}");
            }
            for language in culture.languages {
                assert!(language.split('-').all(|s| (2..=8).contains(&s.len())), "{language}");
            }
            for pattern in culture.phones {
                let mut rng = rng_of(1, 0, 0);
                assert!(phone_ok(&phone(&mut rng, pattern)), "{pattern}");
            }
            assert!(!culture.bodies.is_empty() && !culture.departments.is_empty() && !culture.roles.is_empty());
        }
        for label in LABELS.iter().chain(ORGANIZATION_LABELS) {
            assert!(
                label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_lowercase() || "-_:.".contains(c) || c.is_ascii_digit()),
                "{label}"
            );
        }
    }

    #[test]
    fn the_register_has_every_script_and_a_few_percent_of_near_duplicates() {
        let people: Vec<Person> = (0..10_000u64).map(|i| person(22, i)).collect();
        let names: String = people.iter().map(|p| p.display_name.as_str()).collect::<Vec<_>>().join(" ");
        let has = |range: std::ops::RangeInclusive<u32>| names.chars().any(|c| range.contains(&u32::from(c)));
        for (script, range) in [
            ("Latin with diacritics", 0x00C0..=0x024F),
            ("Vietnamese", 0x1EA0..=0x1EFF),
            ("Greek", 0x0370..=0x03FF),
            ("Cyrillic", 0x0400..=0x04FF),
            ("Arabic", 0x0600..=0x06FF),
            ("Devanagari", 0x0900..=0x097F),
            ("hiragana", 0x3040..=0x309F),
            ("katakana", 0x30A0..=0x30FF),
            ("Han", 0x4E00..=0x9FFF),
            ("Hangul", 0xAC00..=0xD7AF),
        ] {
            assert!(has(range), "no {script} name");
        }
        for name in ["Zoë", "Müller", "Ñúñez", "Đặng"] {
            assert!(names.contains(name), "{name}");
        }
        let duplicates: Vec<(usize, u64)> =
            people.iter().enumerate().filter_map(|(i, p)| Some((i, p.duplicate_of?))).collect();
        let share = duplicates.len() as f64 / people.len() as f64;
        assert!((0.02..0.04).contains(&share), "{share}");
        for (i, original) in &duplicates {
            let (copy, original) = (&people[*i], &people[*original as usize]);
            assert!(original.duplicate_of.is_none(), "a near-duplicate of an original");
            assert_eq!(copy.given_name, original.given_name);
            let same_email = copy.emails[0].1.to_lowercase() == original.emails[0].1.to_lowercase()
                && copy.emails[0].1 != original.emails[0].1;
            let typo = copy.family_name != original.family_name
                && copy.family_name.chars().count() + 1 >= original.family_name.chars().count();
            assert!(same_email ^ typo, "{copy:?} of {original:?}");
        }
    }

    #[test]
    fn csv_rows_quote_what_needs_it() {
        let mut person = person(22, 0);
        person.notes = "Met at the forum, \"twice\"";
        person.consent = Consent::Allowed("2024-03-15".into());
        person.working_hours = Some((9, 17));
        let mut out = String::new();
        write_csv_row(&mut out, &person);
        assert!(out.ends_with(",\"Met at the forum, \"\"twice\"\"\"\r\n"), "{out}");
        assert!(out.contains(",,email;phone,consent,2024-03-15,"), "{out}");
        assert!(out.contains("MO 09:00-17:00;TU 09:00-17:00;WE 09:00-17:00;TH 09:00-17:00;FR 09:00-17:00"), "{out}");
        assert_eq!(out.matches(',').count(), CSV_HEADER.matches(',').count() + 1, "one comma quoted: {out}");
    }

    #[test]
    fn organisations_have_departments_under_earlier_bodies() {
        let specs = organizations(22);
        assert_eq!(specs.len(), ORGANIZATIONS);
        let departments = specs.iter().filter(|s| s.parent.is_some()).count();
        assert!(departments >= 100, "{departments}");
        for (index, spec) in specs.iter().enumerate() {
            assert!(spec.parent.is_none_or(|parent| parent < index && specs[parent].parent.is_none()));
            assert!(!spec.display_name.is_empty() && spec.display_name.chars().count() <= 200);
        }
        let affiliated = (0..10_000u64).filter(|i| affiliation(22, *i, &specs).is_some()).count();
        assert!((400..600).contains(&affiliated), "{affiliated}");
    }

    #[test]
    fn queries_are_words_of_the_names() {
        let queries = queries(22, 2000, 100);
        assert_eq!((queries.one_word.len(), queries.two_words.len(), queries.typo.len()), (100, 100, 100));
        let names: String = (0..2000u64).map(|i| person(22, i).display_name).collect::<Vec<_>>().join(" ");
        assert!(queries.one_word.iter().all(|w| names.contains(w.as_str()) && !w.contains(' ')));
        assert!(queries.two_words.iter().all(|q| q.split(' ').count() == 2));
        assert!(queries.typo.iter().all(|w| w.chars().count() >= 3 && !w.contains(' ')));
        for seed in 0..50 {
            let mut rng = rng_of(seed, 0, 0);
            assert_eq!(typo(&['a', 'b'], &mut rng), "a", "never the same word");
            assert_ne!(typo(&['M', 'ü', 'l', 'l', 'e', 'r'], &mut rng), "Müller");
            let hyphenated: Vec<char> = "Jäger-Hübner".chars().collect();
            let typo = typo(&hyphenated, &mut rng);
            assert!(typo.contains('-') && typo != "Jäger-Hübner", "{typo}");
        }
        assert_eq!(unaccented('ñ'), 'n');
        assert_eq!(unaccented('Ž'), 'Z');
    }
}
