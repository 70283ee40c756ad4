// ResponseReader: framing, limits and error wording on bytes fed by hand, in every split.
#include "marketpipe/net/client/response_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "marketpipe/net/http_types.h"

namespace marketpipe::net {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kPeer = "example.test:443";

ResponseReader::Limits Limits(uint64_t max_body = 1024) {
  return {.max_body_bytes = max_body, .max_header_bytes = 4096};
}

void ExpectPadded(const HttpResponse& r) {
  EXPECT_GE(r.body.capacity(), r.body.size() + kResponseBodyPadding);
}

TEST(ResponseReaderTest, ContentLengthResponseInEverySplitOfTwo) {
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
  for (size_t cut = 0; cut <= wire.size(); ++cut) {
    SCOPED_TRACE(cut);
    ResponseReader reader(Limits(), std::string(kPeer));
    EXPECT_EQ(reader.Put(std::string_view(wire).substr(0, cut)), cut);
    EXPECT_EQ(reader.done(), cut == wire.size());
    EXPECT_EQ(reader.Put(std::string_view(wire).substr(cut)), wire.size() - cut);
    ASSERT_TRUE(reader.done()) << reader.status();
    EXPECT_TRUE(reader.keep_alive());
    HttpResponse r = reader.TakeResponse();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.reason, "OK");
    EXPECT_EQ(r.headers.Get("x-a"), "b");
    EXPECT_EQ(r.body, "hello");
    ExpectPadded(r);
  }
}

TEST(ResponseReaderTest, OneByteAtATimeChunkedBodyIsDecodedAndPadded) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
  ResponseReader reader(Limits(), std::string(kPeer));
  for (char c : wire) ASSERT_EQ(reader.Put(std::string_view(&c, 1)), 1u) << reader.status();
  ASSERT_TRUE(reader.done()) << reader.status();
  HttpResponse r = reader.TakeResponse();
  EXPECT_EQ(r.body, "abcdefg");
  ExpectPadded(r);
}

TEST(ResponseReaderTest, EmptyBodyIsPaddedToo) {
  ResponseReader reader(Limits(), std::string(kPeer));
  reader.Put("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(reader.done()) << reader.status();
  ExpectPadded(reader.TakeResponse());
}

TEST(ResponseReaderTest, BodyDelimitedByEndOfStreamCompletesAtEofAndIsNotKeptAlive) {
  ResponseReader reader(Limits(), std::string(kPeer));
  reader.Put("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
  EXPECT_FALSE(reader.done());
  reader.PutEof();
  ASSERT_TRUE(reader.done()) << reader.status();
  EXPECT_FALSE(reader.keep_alive());
  EXPECT_EQ(reader.TakeResponse().body, "until the end");
}

TEST(ResponseReaderTest, BytesAfterTheResponseAreNotConsumed) {
  ResponseReader reader(Limits(), std::string(kPeer));
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
  EXPECT_EQ(reader.Put(wire), wire.size() - 5);
  ASSERT_TRUE(reader.done());
  EXPECT_EQ(reader.TakeResponse().body, "ok");
}

TEST(ResponseReaderTest, HugeContentLengthIsRefusedBeforeAnyBodyByte) {
  ResponseReader reader(Limits(1024), std::string(kPeer));
  reader.Put("HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n");
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(reader.status().message(), HasSubstr("announces Content-Length 1000000000000"));
  EXPECT_THAT(reader.status().message(), HasSubstr("max_response_bytes (1024 bytes)"));
  EXPECT_THAT(reader.status().message(), HasSubstr(std::string(kPeer)));
  EXPECT_FALSE(reader.done());
}

TEST(ResponseReaderTest, ChunkedBodyOverTheLimitIsResourceExhausted) {
  ResponseReader reader(Limits(8), std::string(kPeer));
  reader.Put("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n");
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(reader.status().message(), HasSubstr("is larger than max_response_bytes (8 bytes)"));
}

TEST(ResponseReaderTest, HeaderOverItsLimitIsResourceExhausted) {
  ResponseReader reader(Limits(), std::string(kPeer));
  reader.Put("HTTP/1.1 200 OK\r\nX-Big: " + std::string(8192, 'x'));
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(reader.status().message(), HasSubstr("response header"));
}

TEST(ResponseReaderTest, MalformedStatusLineIsDataLoss) {
  ResponseReader reader(Limits(), std::string(kPeer));
  reader.Put("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(reader.status().message(),
              HasSubstr("malformed HTTP response from " + std::string(kPeer)));
}

TEST(ResponseReaderTest, EofBeforeAnyByteIsUnavailable) {
  ResponseReader reader(Limits(), std::string(kPeer));
  reader.PutEof();
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(reader.got_some());
}

TEST(ResponseReaderTest, EofMidBodyIsDataLossCountingTheBytesReceived) {
  ResponseReader reader(Limits(), std::string(kPeer));
  reader.Put("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  reader.PutEof();
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(reader.status().message(), HasSubstr("truncated response body (3 bytes received)"));
}

TEST(ResponseReaderTest, EofMidHeaderIsDataLoss) {
  ResponseReader reader(Limits(), std::string(kPeer));
  reader.Put("HTTP/1.1 200 OK\r\nContent-Le");
  reader.PutEof();
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(reader.status().message(), HasSubstr("truncated response header"));
}

TEST(ResponseReaderTest, HeadResponseHasNoBodyWhateverItsContentLength) {
  ResponseReader reader({.max_body_bytes = 1024, .head_request = true}, std::string(kPeer));
  reader.Put("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
  ASSERT_TRUE(reader.done()) << reader.status();
  EXPECT_TRUE(reader.keep_alive());
  EXPECT_EQ(reader.TakeResponse().body, "");
}

}  // namespace
}  // namespace marketpipe::net
