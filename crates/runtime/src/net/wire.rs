//! Responses assembled from messages encoded once and kept.
//!
//! On the wire, a message field, a `string` field and a `bytes` field are the same thing: a tag and a
//! length-delimited payload. A response whose items are already encoded (a read cache keeps each resource's
//! bytes beside it) can therefore be sent by copying those bytes after their tags, instead of cloning every item
//! into a fresh message and encoding it again on every call. [`Spliced`] is such a message; [`route_unary`] serves
//! one method of a service with it, in front of the generated server that serves the others.
use bytes::{Buf, BufMut, Bytes};
use prost::encoding::{DecodeContext, WireType};
use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::task::{Context, Poll};
use tonic::codegen::{Body, BoxFuture, StdError};
use tonic::{Request, Response, Status};

/// A message made of length-delimited fields given as `(field number, encoded payload)`, written in order.
///
/// It decodes too (each length-delimited field is kept as it came; others are skipped), which lets a test read
/// back what was sent without knowing the message type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spliced {
    fields: Vec<(u32, Bytes)>,
}

impl Spliced {
    /// An empty message with room for `fields` fields.
    pub fn with_capacity(fields: usize) -> Self {
        Self { fields: Vec::with_capacity(fields) }
    }

    /// Appends field `number` with an already-encoded payload: a submessage's encoding, or a string's bytes.
    pub fn push(&mut self, number: u32, payload: Bytes) {
        self.fields.push((number, payload));
    }

    /// The payloads of field `number`, in order.
    pub fn field(&self, number: u32) -> impl Iterator<Item = &Bytes> {
        self.fields.iter().filter(move |(n, _)| *n == number).map(|(_, payload)| payload)
    }

    /// This message read as the generated message `M` it stands for: what a service's trait method returns when
    /// the wire route answers with the spliced bytes.
    pub fn to_message<M: prost::Message + Default>(&self) -> Result<M, prost::DecodeError> {
        use prost::Message as _;
        M::decode(self.encode_to_vec().as_slice())
    }
}

/// `message`'s encoding, to keep and splice.
pub fn encode(message: &impl prost::Message) -> Bytes {
    Bytes::from(message.encode_to_vec())
}

impl prost::Message for Spliced {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        for (number, payload) in &self.fields {
            prost::encoding::bytes::encode(*number, payload, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        if wire_type != WireType::LengthDelimited {
            return prost::encoding::skip_field(wire_type, tag, buf, ctx);
        }
        let mut payload = Bytes::new();
        prost::encoding::bytes::merge(wire_type, &mut payload, buf, ctx)?;
        self.fields.push((tag, payload));
        Ok(())
    }

    fn encoded_len(&self) -> usize {
        self.fields.iter().map(|(number, payload)| prost::encoding::bytes::encoded_len(*number, payload)).sum()
    }

    fn clear(&mut self) {
        self.fields.clear();
    }
}

/// Serves one unary method with `handler`, whose response is [`Spliced`], ahead of the generated server's own
/// route for it (an exact path wins over the service's wildcard). The server's layers (request context,
/// metrics) apply as to every route, and the message limits of the generated servers (`net::limits`).
pub fn route_unary<Req, H, F>(routes: &mut tonic::service::Routes, path: &str, handler: H)
where
    Req: prost::Message + Default + Send + 'static,
    H: Fn(Request<Req>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Spliced>, Status>> + Send + 'static,
{
    let route = UnaryRoute { handler, request: PhantomData };
    let router = std::mem::take(routes.axum_router_mut());
    *routes.axum_router_mut() = router.route_service(path, route);
}

/// The tower service behind [`route_unary`]: gRPC framing and the prost codec, as the generated code does.
struct UnaryRoute<Req, H> {
    handler: H,
    request: PhantomData<fn(Req)>,
}

impl<Req, H: Clone> Clone for UnaryRoute<Req, H> {
    fn clone(&self) -> Self {
        Self { handler: self.handler.clone(), request: PhantomData }
    }
}

impl<Req, H, F, B> tower::Service<http::Request<B>> for UnaryRoute<Req, H>
where
    Req: prost::Message + Default + Send + 'static,
    H: Fn(Request<Req>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Spliced>, Status>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = Handler { handler: self.handler.clone(), request: PhantomData };
        Box::pin(async move {
            let mut grpc = limited_grpc::<Spliced, Req>(crate::net::limits::MAX_REQUEST_BYTES);
            Ok(grpc.unary(method, request).await)
        })
    }
}

struct Handler<Req, H> {
    handler: H,
    request: PhantomData<fn(Req)>,
}

impl<Req, H, F> tonic::server::UnaryService<Req> for Handler<Req, H>
where
    H: Fn(Request<Req>) -> F,
    F: Future<Output = Result<Response<Spliced>, Status>> + Send + 'static,
{
    type Response = Spliced;
    type Future = F;

    fn call(&mut self, request: Request<Req>) -> F {
        (self.handler)(request)
    }
}

/// gRPC framing with the prost codec, reading requests of up to `max_request_bytes` and sending responses of up
/// to [`MAX_RESPONSE_BYTES`](crate::net::limits::MAX_RESPONSE_BYTES), as the generated servers do.
fn limited_grpc<Resp, Req>(max_request_bytes: usize) -> tonic::server::Grpc<tonic_prost::ProstCodec<Resp, Req>>
where
    Resp: prost::Message + Send + 'static,
    Req: prost::Message + Default + Send + 'static,
{
    tonic::server::Grpc::new(tonic_prost::ProstCodec::<Resp, Req>::default())
        .max_decoding_message_size(max_request_bytes)
        .max_encoding_message_size(crate::net::limits::MAX_RESPONSE_BYTES)
}

/// Serves one bidirectional-streaming method with `handler`, ahead of the generated server's route for it,
/// reading request messages of up to `max_request_bytes` — for the one method that needs more than the
/// generated servers' [`MAX_REQUEST_BYTES`](crate::net::limits::MAX_REQUEST_BYTES) (a file streamed in chunks).
pub fn route_streaming<Req, Resp, H, F, S>(
    routes: &mut tonic::service::Routes,
    path: &str,
    max_request_bytes: usize,
    handler: H,
) where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    H: Fn(Request<tonic::Streaming<Req>>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    S: futures::Stream<Item = Result<Resp, Status>> + Send + 'static,
{
    let route = StreamingRoute { handler, max_request_bytes, types: PhantomData };
    let router = std::mem::take(routes.axum_router_mut());
    *routes.axum_router_mut() = router.route_service(path, route);
}

/// The tower service behind [`route_streaming`].
struct StreamingRoute<Req, Resp, H> {
    handler: H,
    max_request_bytes: usize,
    types: PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp, H: Clone> Clone for StreamingRoute<Req, Resp, H> {
    fn clone(&self) -> Self {
        Self { handler: self.handler.clone(), max_request_bytes: self.max_request_bytes, types: PhantomData }
    }
}

impl<Req, Resp, H, F, S, B> tower::Service<http::Request<B>> for StreamingRoute<Req, Resp, H>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Send + 'static,
    H: Fn(Request<tonic::Streaming<Req>>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    S: futures::Stream<Item = Result<Resp, Status>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = StreamingHandler { handler: self.handler.clone(), types: PhantomData };
        let max_request_bytes = self.max_request_bytes;
        Box::pin(async move {
            let mut grpc = limited_grpc::<Resp, Req>(max_request_bytes);
            Ok(grpc.streaming(method, request).await)
        })
    }
}

struct StreamingHandler<Req, Resp, H> {
    handler: H,
    types: PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp, H, F, S> tonic::server::StreamingService<Req> for StreamingHandler<Req, Resp, H>
where
    H: Fn(Request<tonic::Streaming<Req>>) -> F,
    F: Future<Output = Result<Response<S>, Status>> + Send + 'static,
    S: futures::Stream<Item = Result<Resp, Status>> + Send + 'static,
{
    type Response = Resp;
    type ResponseStream = S;
    type Future = F;

    fn call(&mut self, request: Request<tonic::Streaming<Req>>) -> F {
        (self.handler)(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn a_spliced_message_encodes_like_the_message_it_stands_for() {
        let first = prost_types::Duration { seconds: 7, nanos: 1 };
        let second = prost_types::Duration { seconds: 300, nanos: 0 };
        let names = vec!["a".to_owned(), "bé".to_owned()];
        // Shaped like a batch response: the items, then the names that were not found.
        #[derive(Clone, PartialEq, prost::Message)]
        struct Reference {
            #[prost(message, repeated, tag = "1")]
            items: Vec<prost_types::Duration>,
            #[prost(string, repeated, tag = "2")]
            missing: Vec<String>,
        }
        let reference = Reference { items: vec![first, second], missing: names.clone() };

        let mut spliced = Spliced::with_capacity(4);
        spliced.push(1, encode(&first));
        spliced.push(1, encode(&second));
        for name in &names {
            spliced.push(2, Bytes::from(name.clone()));
        }

        assert_eq!(spliced.encoded_len(), reference.encoded_len());
        assert_eq!(spliced.encode_to_vec(), reference.encode_to_vec());
        assert_eq!(Reference::decode(spliced.encode_to_vec().as_slice()).expect("decodes"), reference);
        assert_eq!(spliced.to_message::<Reference>().expect("decodes"), reference);
    }

    #[test]
    fn a_spliced_message_decodes_its_fields_back() {
        let mut spliced = Spliced::default();
        spliced.push(3, Bytes::from_static(b"x"));
        spliced.push(1, Bytes::new());
        let decoded = Spliced::decode(spliced.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(decoded, spliced);
        assert_eq!(decoded.field(3).collect::<Vec<_>>(), vec![&Bytes::from_static(b"x")]);
    }

    #[tokio::test]
    async fn a_routed_method_is_served_by_its_handler_and_the_others_by_the_generated_server() {
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter.set_service_status("known", tonic_health::ServingStatus::Serving).await;
        let mut routes = tonic::service::Routes::new(health);
        // The handler answers an empty message: status UNKNOWN, where the generated server says SERVING.
        route_unary(&mut routes, "/grpc.health.v1.Health/Check", |request: Request<HealthCheckRequest>| async move {
            match request.get_ref().service.as_str() {
                "refused" => Err(Status::permission_denied("refused by the handler")),
                _ => Ok(Response::new(Spliced::default())),
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_routes(routes)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}")).expect("endpoint");
        let mut client = HealthClient::new(channel.connect().await.expect("connect"));
        let check = |service: &str| HealthCheckRequest { service: service.to_owned() };

        let routed = client.check(check("known")).await.expect("check").into_inner();
        assert_eq!(routed.status(), ServingStatus::Unknown, "Check went to the handler");
        let refused = client.check(check("refused")).await.expect_err("the handler's error");
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        assert_eq!(refused.message(), "refused by the handler");

        let mut watch = client.watch(check("known")).await.expect("watch").into_inner();
        let first = watch.message().await.expect("stream").expect("a first status");
        assert_eq!(first.status(), ServingStatus::Serving, "Watch still went to the generated server");
    }
}
