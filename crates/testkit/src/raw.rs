//! Any RPC called by its path with raw protobuf bytes, and the list of RPCs a server says it serves (reflection):
//! for tests that must cover every RPC of every server — generated from what the servers serve, not hand-listed.
use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

/// Passes messages through as bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Self::Error> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// One RPC a server serves.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rpc {
    /// `package.Service/Method`.
    pub name: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

/// Calls `rpc` with one empty request message and `metadata`, and returns the status (OK when the call was
/// accepted) and the first response message, if any arrived within a second (a stream may send nothing yet).
pub async fn call_empty(
    channel: Channel,
    rpc: &str,
    metadata: &[(&'static str, String)],
) -> (tonic::Code, Option<Bytes>) {
    match call(channel, rpc, Bytes::new(), metadata).await {
        Ok(message) => (tonic::Code::Ok, message),
        Err(status) => (status.code(), None),
    }
}

/// Calls `rpc` with the one encoded request `message` and `metadata` (within 10 s): the first response message,
/// if any arrived within a second (a stream may send nothing yet), or the status the call ended with.
pub async fn call(
    channel: Channel,
    rpc: &str,
    message: Bytes,
    metadata: &[(&'static str, String)],
) -> Result<Option<Bytes>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(usize::MAX);
    if let Err(e) = grpc.ready().await {
        panic!("channel not ready: {e}");
    }
    let path: http::uri::PathAndQuery = format!("/{rpc}").parse().unwrap_or_else(|e| panic!("{rpc}: {e}"));
    // Every kind of RPC reads the same frames: one message sent as a stream serves unary ones too.
    let mut request = tonic::Request::new(tokio_stream::iter([message]));
    for (key, value) in metadata {
        request.metadata_mut().insert(*key, value.parse().unwrap_or_else(|_| panic!("metadata {key}")));
    }
    request.set_timeout(std::time::Duration::from_secs(10));
    let mut stream = grpc.streaming(request, path, RawCodec).await?.into_inner();
    match tokio::time::timeout(std::time::Duration::from_secs(1), stream.message()).await {
        Ok(answer) => answer,
        Err(_) => Ok(None),
    }
}

/// Every RPC the server on `channel` lists through reflection (v1), health included, reflection's own not.
pub async fn served_rpcs(channel: Channel) -> Vec<Rpc> {
    use prost::Message;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(channel);
    let ask = |message| ServerReflectionRequest { host: String::new(), message_request: Some(message) };
    let answer = |mut client: ServerReflectionClient<Channel>, message| async move {
        let mut responses = client
            .server_reflection_info(tokio_stream::iter([ask(message)]))
            .await
            .unwrap_or_else(|e| panic!("reflection: {e}"))
            .into_inner();
        responses.message().await.unwrap_or_else(|e| panic!("reflection: {e}")).and_then(|r| r.message_response)
    };
    let services = match answer(client.clone(), MessageRequest::ListServices(String::new())).await {
        Some(MessageResponse::ListServicesResponse(list)) => list.service,
        other => panic!("reflection listed no services: {other:?}"),
    };
    let mut rpcs = Vec::new();
    // Reflection describes the services it serves, not itself (its v1alpha descriptor is not registered).
    for service in services.into_iter().filter(|s| !s.name.starts_with("grpc.reflection.")) {
        let files = match answer(client.clone(), MessageRequest::FileContainingSymbol(service.name.clone())).await {
            Some(MessageResponse::FileDescriptorResponse(files)) => files.file_descriptor_proto,
            other => panic!("reflection has no file for {}: {other:?}", service.name),
        };
        for bytes in files {
            let file = prost_types::FileDescriptorProto::decode(bytes.as_slice())
                .unwrap_or_else(|e| panic!("descriptor of {}: {e}", service.name));
            for declared in &file.service {
                let full = format!("{}.{}", file.package(), declared.name());
                if full != service.name {
                    continue;
                }
                for method in &declared.method {
                    rpcs.push(Rpc {
                        name: format!("{full}/{}", method.name()),
                        client_streaming: method.client_streaming(),
                        server_streaming: method.server_streaming(),
                    });
                }
            }
        }
    }
    let _ = &mut client;
    rpcs.sort();
    rpcs.dedup();
    rpcs
}
