//! The helpers of the h2load cross-check (`crates/bench/h2load.sh`): seed contacts on a running service, encode
//! a GetContact request as gRPC frames it on the wire, and drive GetContact of one contact with this bench's own
//! driver, so that both tools' figures come from the same server, request and concurrency.
use crate::cli::{DriveArgs, EncodeArgs, SeedArgs};
use crate::load::{self, Connections, Drive, Pace};
use crate::report::{self, Measured};
use crate::scenarios::{self, Fixture, Scenario};
use anyhow::Context;
use liaison_proto::contacts::v1::GetContactRequest;
use prost::Message;
use std::io::Write;
use std::sync::Arc;

/// Creates contacts and prints their names, one a line.
pub(crate) async fn seed(args: &SeedArgs) -> anyhow::Result<()> {
    let contacts = Connections::open(&args.contacts_addr, 1).await?;
    let tag = format!("{}x{}", std::process::id(), &uuid::Uuid::now_v7().simple().to_string()[8..16]);
    let names = scenarios::seed_contacts(&contacts, &tag, args.count).await?;
    let mut stdout = std::io::stdout().lock();
    for name in names {
        writeln!(stdout, "{name}").context("cannot write to stdout")?;
    }
    Ok(())
}

/// A unary gRPC message as it travels: a byte saying "not compressed", the length (4 bytes, big-endian), and
/// the protobuf encoding.
pub(crate) fn grpc_frame(message: &impl Message) -> anyhow::Result<Vec<u8>> {
    let body = message.encode_to_vec();
    let length = u32::try_from(body.len()).context("message too large for one gRPC frame")?;
    let mut frame = Vec::with_capacity(5 + body.len());
    frame.push(0);
    frame.extend_from_slice(&length.to_be_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Writes the framed GetContactRequest to stdout.
pub(crate) fn encode_get_contact(args: &EncodeArgs) -> anyhow::Result<()> {
    let frame = grpc_frame(&GetContactRequest { name: args.name.clone() })?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&frame).and_then(|()| stdout.flush()).context("cannot write to stdout")
}

/// Drives GetContact of one contact and prints one line of figures (`calls/s=…` first, for scripts).
pub(crate) async fn drive(args: &DriveArgs) -> anyhow::Result<()> {
    let load = args.load.resolve(false);
    let contacts = Connections::open(&args.contacts_addr, load.connections).await?;
    let names = Arc::new(vec![args.name.clone()]);
    let fixture = Fixture {
        names: names.clone(),
        read_names: names,
        queries: Arc::default(),
        page_tokens: Arc::new(vec![String::new()]),
        tag: "drive".into(),
        workers: load.concurrency,
        round: 0,
        bearer: None,
        calendar: None,
        cases: None,
    };
    let workload = scenarios::workload(Scenario::GetContact, &fixture, &contacts).context("GetContact has calls")?;
    let outcome = load::run(workload, Drive { load, pace: Pace::Closed }, &[]).await?;
    let m = Measured::new(Scenario::GetContact.name(), &outcome, Pace::Closed, &[]);
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "calls/s={:.0} p50_ms={} p90_ms={} p99_ms={} max_ms={} errors={} connections={} concurrency={} seconds={}",
        m.per_s,
        report::fmt_ms(m.latency.p50_ms),
        report::fmt_ms(m.latency.p90_ms),
        report::fmt_ms(m.latency.p99_ms),
        report::fmt_ms(m.latency.max_ms),
        m.error_count(),
        load.connections,
        load.concurrency,
        load.duration.as_secs_f64(),
    )
    .context("cannot write to stdout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grpc_frame_is_flag_length_and_body() {
        let request = GetContactRequest { name: "contacts/abc".into() };
        let frame = grpc_frame(&request).expect("frame");
        assert_eq!(frame[0], 0, "not compressed");
        assert_eq!(u32::from_be_bytes([frame[1], frame[2], frame[3], frame[4]]) as usize, frame.len() - 5);
        assert_eq!(GetContactRequest::decode(&frame[5..]).expect("decodes"), request);
    }
}
