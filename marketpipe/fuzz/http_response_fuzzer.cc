// HttpClient's handling of a response head and body (ResponseReader) on arbitrary bytes, fed in
// pieces whose sizes the input also chooses. Input: byte 0 = flags (bit 0: HEAD request, bit 1:
// end of stream after the bytes), byte 1 = body limit (2^(b % 24) bytes), byte 2 = seed of the
// piece sizes, then the bytes the server sends.
// Invariants: a complete response does not depend on how the bytes were split, respects the body
// limit and keeps its padding; Put never claims more than it was given; after end of stream
// there is always a verdict; a failure is DATA_LOSS, RESOURCE_EXHAUSTED or UNAVAILABLE and names
// the peer. (Beast checks header fields as soon as it has the whole header, or at once when the
// first bytes hold complete lines, so a malformed field may fail one split while another still
// waits for the end of the header: only the verdicts "complete" must agree.)
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "marketpipe/fuzz/fuzz_check.h"
#include "marketpipe/net/client/response_reader.h"
#include "marketpipe/net/http_types.h"

namespace {

using marketpipe::net::HttpResponse;
using marketpipe::net::ResponseReader;

constexpr std::string_view kPeer = "fuzz.test:443";

struct Outcome {
  bool done = false;
  bool keep_alive = false;
  size_t consumed = 0;
  absl::Status status;
  HttpResponse response;
};

// Feeds `wire` in pieces of sizes drawn from `seed` (0: all at once).
Outcome Run(ResponseReader::Limits limits, std::string_view wire, uint8_t seed, bool eof) {
  ResponseReader reader(limits, std::string(kPeer));
  Outcome out;
  uint32_t state = seed;
  size_t at = 0;
  while (at < wire.size()) {
    size_t piece = wire.size() - at;
    if (seed != 0) {
      state = state * 1103515245u + 12345u;
      piece = std::min<size_t>(piece, 1 + (state >> 16) % 97);
    }
    const size_t used = reader.Put(wire.substr(at, piece));
    FUZZ_CHECK(used <= piece);
    out.consumed += used;
    if (used < piece) {
      FUZZ_CHECK(reader.done());
      break;
    }
    at += piece;
    if (reader.done() || !reader.status().ok()) break;
  }
  if (eof && reader.status().ok() && !reader.done()) reader.PutEof();
  out.done = reader.done();
  out.status = reader.status();
  if (out.done) {
    FUZZ_CHECK(out.status.ok());
    out.keep_alive = reader.keep_alive();
    out.response = reader.TakeResponse();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const bool head = data[0] & 1;
  const bool eof = data[0] & 2;
  const ResponseReader::Limits limits{.max_body_bytes = uint64_t{1} << (data[1] % 24),
                                      .max_header_bytes = 8 * 1024,
                                      .head_request = head};
  const std::string_view wire(reinterpret_cast<const char*>(data) + 3, size - 3);

  const Outcome whole = Run(limits, wire, 0, eof);
  const Outcome pieces = Run(limits, wire, data[2] == 0 ? 1 : data[2], eof);

  // Still waiting for bytes: neither complete nor failed.
  const bool whole_waiting = !whole.done && whole.status.ok();
  const bool pieces_waiting = !pieces.done && pieces.status.ok();
  if (eof) FUZZ_CHECK(!whole_waiting && !pieces_waiting);
  FUZZ_CHECK(whole.done == pieces.done);
  if (whole.done) {
    const HttpResponse& r = whole.response;
    FUZZ_CHECK(r.body.size() <= limits.max_body_bytes);
    FUZZ_CHECK(r.body.capacity() >= r.body.size() + marketpipe::net::kResponseBodyPadding);
    FUZZ_CHECK(!head || r.body.empty());
    FUZZ_CHECK(r.status >= 0 && r.status <= 999);
    FUZZ_CHECK(whole.consumed == pieces.consumed);
    FUZZ_CHECK(whole.keep_alive == pieces.keep_alive);
    FUZZ_CHECK(r.status == pieces.response.status);
    FUZZ_CHECK(r.body == pieces.response.body);
    FUZZ_CHECK(r.headers == pieces.response.headers);
  }
  for (const Outcome* o : {&whole, &pieces}) {
    const absl::Status& s = o->status;
    if (s.ok()) continue;
    FUZZ_CHECK(absl::IsDataLoss(s) || absl::IsResourceExhausted(s) || absl::IsUnavailable(s));
    FUZZ_CHECK(std::string(s.message()).find(kPeer) != std::string::npos);
  }
  return 0;
}
