//! The engagement section: interactions per organisation and channel, stakeholders not engaged for 30, 60 and 90
//! days, the distribution of relationship health, open follow-ups and new contacts.
use super::{InScope, Sheet, Window, cell, date_of, evidence, figure_cell, row};
use liaison_proto::contacts::v1 as contacts;
use liaison_proto::reporting::v1 as wire;
use std::collections::{BTreeMap, HashMap};

const DAY: i64 = 86_400 * 1_000_000;

/// Relationship health bands, by days since the last interaction with the organisation (or its people).
pub(crate) const BANDS: [(&str, i64); 4] = [("active", 30), ("cooling", 60), ("at_risk", 90), ("dormant", i64::MAX)];

/// The organisations an interaction is with: those among its participants, and those its contact participants are
/// affiliated with.
pub(crate) fn organizations_of<'a>(interaction: &'a contacts::Interaction, data: &'a InScope<'_>) -> Vec<&'a str> {
    let mut orgs: Vec<&str> = Vec::new();
    for participant in &interaction.participants {
        if participant.starts_with("organizations/") {
            orgs.push(participant);
        } else if let Some(affiliated) = data.affiliations.get(participant.as_str()) {
            orgs.extend(affiliated.iter().copied());
        }
    }
    orgs.sort_unstable();
    orgs.dedup();
    orgs
}

/// When each organisation in scope was last engaged before the report's instant (within the records read, which
/// reach 90 days back).
pub(crate) fn last_engaged<'a>(window: &Window, data: &'a InScope<'_>) -> HashMap<&'a str, i64> {
    let mut last: HashMap<&str, i64> = HashMap::new();
    for i in &data.interactions {
        let Some(at) = super::micros(i.item.occur_time.as_ref()) else { continue };
        if at >= window.as_of {
            continue;
        }
        for org in organizations_of(&i.item, data) {
            let entry = last.entry(org).or_insert(at);
            *entry = (*entry).max(at);
        }
    }
    last
}

/// Organisations existing at the report's instant.
pub(crate) fn stakeholders<'a>(
    window: &Window,
    data: &'a InScope<'a>,
) -> impl Iterator<Item = &'a super::Rec<contacts::Organization>> {
    let as_of = window.as_of;
    data.organizations
        .iter()
        .copied()
        .filter(move |o| super::micros(o.item.create_time.as_ref()).is_none_or(|t| t < as_of))
}

pub(super) fn section(sheet: &mut Sheet, window: &Window, data: &InScope<'_>) {
    let in_period: Vec<_> =
        data.interactions.iter().filter(|i| window.in_period(super::micros(i.item.occur_time.as_ref()))).collect();
    sheet.count(
        "engagement.interactions",
        "Interactions",
        "Interactions that took place in the period with people or organisations in scope.",
        in_period
            .iter()
            .map(|i| evidence(&i.meta, format!("{} on {}", channel(i.item.channel), occurred(&i.item)), &[]))
            .collect(),
    );
    let mut by_org_channel: BTreeMap<(String, &str), Vec<_>> = BTreeMap::new();
    for i in &in_period {
        let orgs = organizations_of(&i.item, data);
        let keys: Vec<String> =
            if orgs.is_empty() { vec!["(none)".to_owned()] } else { orgs.iter().map(|o| (*o).to_owned()).collect() };
        for org in keys {
            by_org_channel.entry((org, channel(i.item.channel))).or_default().push(*i);
        }
    }
    let (shown, others) = super::largest(by_org_channel, super::TABLE_ROWS);
    let mut rows = Vec::new();
    for ((org, channel), items) in &shown {
        let id = format!("engagement.interactions{{organization={org},channel={channel}}}");
        let figure = sheet.count(
            &id,
            &format!("Interactions with {} by {channel}", data.label(org)),
            "Interactions in the period with the organisation or people affiliated with it, on this channel.",
            items.iter().map(|i| evidence(&i.meta, occurred(&i.item), &[])).collect(),
        );
        rows.push(row(vec![cell(data.label(org)), cell(*channel), figure_cell(items.len() as f64, figure)]));
    }
    if !others.is_empty() {
        let figure = sheet.count(
            "engagement.interactions{organization=others}",
            "Interactions with all other organisations and channels",
            "Interactions counted in the rows the table does not show (it shows the largest).",
            others.iter().map(|i| evidence(&i.meta, occurred(&i.item), &[])).collect(),
        );
        rows.push(row(vec![cell("All others"), cell(""), figure_cell(others.len() as f64, figure)]));
    }
    sheet.table(
        "engagement.by_organization",
        "Interactions per organisation and channel",
        &["Organisation", "Channel", "Interactions"],
        rows,
    );

    let last = last_engaged(window, data);
    let organizations: Vec<_> = stakeholders(window, data).collect();
    let note = |name: &str| match last.get(name) {
        Some(at) => format!("last engaged {}", date_of(*at)),
        None => "no interaction in the 90 days before".to_owned(),
    };
    for days in [30, 60, 90] {
        let cutoff = window.as_of - days * DAY;
        let unengaged: Vec<_> =
            organizations.iter().filter(|o| last.get(o.meta.name.as_str()).is_none_or(|at| *at < cutoff)).collect();
        sheet.count(
            &format!("engagement.unengaged{{days={days}}}"),
            &format!("Stakeholders not engaged in {days} days"),
            "Organisations in scope with no interaction (with them or people affiliated with them) in the days before the report's end.",
            unengaged.iter().map(|o| evidence(&o.meta, note(&o.meta.name), &[])).collect(),
        );
    }
    let mut bands: Vec<(&str, Vec<_>)> = BANDS.iter().map(|(band, _)| (*band, Vec::new())).collect();
    for o in &organizations {
        let age = last.get(o.meta.name.as_str()).map_or(i64::MAX, |at| (window.as_of - at) / DAY);
        let index = BANDS.iter().position(|(_, limit)| age < *limit || *limit == i64::MAX).unwrap_or(BANDS.len() - 1);
        bands[index].1.push(*o);
    }
    let mut points = Vec::new();
    for (band, members) in &bands {
        sheet.count(
            &format!("engagement.health{{band={band}}}"),
            &format!("Relationships {}", band.replace('_', " ")),
            "Organisations by days since their last interaction: active under 30, cooling 30–59, at risk 60–89, dormant 90 or more.",
            members.iter().map(|o| evidence(&o.meta, note(&o.meta.name), &[])).collect(),
        );
        points.push((band.replace('_', " "), members.len() as f64));
    }
    sheet.series("engagement.health", "Relationship health", wire::ChartKind::Bar, "count", points);

    let open_follow_ups: Vec<_> = data
        .interactions
        .iter()
        .filter(|i| {
            i.item.follow_up.as_ref().is_some_and(|f| !f.action.is_empty() && !f.done)
                && super::micros(i.item.occur_time.as_ref()).is_some_and(|t| t < window.as_of)
        })
        .collect();
    sheet.count(
        "engagement.open_follow_ups",
        "Open follow-ups",
        "Follow-ups of interactions before the report's end that are not done.",
        open_follow_ups
            .iter()
            .map(|i| {
                evidence(
                    &i.meta,
                    i.item.follow_up.as_ref().map(|f| format!("{} ({})", f.action, f.owner)).unwrap_or_default(),
                    &[],
                )
            })
            .collect(),
    );
    let new_contacts: Vec<_> =
        data.contacts.iter().filter(|c| window.in_period(super::micros(c.item.create_time.as_ref()))).collect();
    sheet.count(
        "engagement.new_contacts",
        "New contacts",
        "Contacts created in the period.",
        new_contacts
            .iter()
            .map(|c| {
                evidence(
                    &c.meta,
                    format!("created {}", date_of(super::micros(c.item.create_time.as_ref()).unwrap_or(0))),
                    &[],
                )
            })
            .collect(),
    );
    let points = window.per_week(in_period.iter().filter_map(|i| super::micros(i.item.occur_time.as_ref())));
    sheet.series("engagement.interactions_per_week", "Interactions per week", wire::ChartKind::Line, "count", points);
}

fn occurred(interaction: &contacts::Interaction) -> String {
    super::micros(interaction.occur_time.as_ref()).map(date_of).unwrap_or_default()
}

pub(crate) fn channel(value: i32) -> &'static str {
    use contacts::InteractionChannel as C;
    match C::try_from(value) {
        Ok(C::Email) => "EMAIL",
        Ok(C::PhoneCall) => "PHONE_CALL",
        Ok(C::Meeting) => "MEETING",
        Ok(C::PublicMeeting) => "PUBLIC_MEETING",
        Ok(C::SiteVisit) => "SITE_VISIT",
        Ok(C::Letter) => "LETTER",
        Ok(C::Video) => "VIDEO",
        Ok(C::Other) => "OTHER",
        _ => "UNSPECIFIED",
    }
}
