#include "marketpipe/net/client/response_reader.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/optional.hpp>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace marketpipe::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

// Beast's string_body, except that the string always keeps kResponseBodyPadding bytes of spare
// capacity past its end: parsers that need padding then work on the body in place, no copy.
struct PaddedStringBody {
  using value_type = std::string;

  static std::uint64_t size(const value_type& body) { return body.size(); }

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, error_code& ec) {
      // The parser has checked `length` against the body limit before this.
      if (length) {
        if (*length > body_.max_size() - kResponseBodyPadding) {
          ec = http::error::buffer_overflow;
          return;
        }
        body_.reserve(static_cast<size_t>(*length) + kResponseBodyPadding);
      }
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      const size_t extra = asio::buffer_size(buffers);
      const size_t size = body_.size();
      if (extra > body_.max_size() - kResponseBodyPadding - size) {
        ec = http::error::buffer_overflow;
        return 0;
      }
      const size_t needed = size + extra + kResponseBodyPadding;
      // Geometric growth for bodies of unknown length (chunked, or until end of stream).
      if (body_.capacity() < needed) body_.reserve(std::max(needed, 2 * body_.capacity()));
      body_.resize(size + extra);
      char* dest = body_.data() + size;
      for (const auto b : beast::buffers_range_ref(buffers)) {
        std::memcpy(dest, b.data(), b.size());
        dest += b.size();
      }
      ec = {};
      return extra;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using Parser = http::response_parser<PaddedStringBody>;

}  // namespace

struct ResponseReader::Impl {
  Parser parser;
  // Bytes the parser could not use yet (a partial line or chunk header).
  std::string pending;
};

ResponseReader::ResponseReader(Limits limits, std::string peer)
    : impl_(std::make_unique<Impl>()), peer_(std::move(peer)), limits_(limits) {
  Parser& p = impl_->parser;
  p.header_limit(limits_.max_header_bytes);
  p.body_limit(limits_.max_body_bytes);
  p.eager(true);
  if (limits_.head_request) p.skip(true);
}

ResponseReader::~ResponseReader() = default;

void ResponseReader::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
}

size_t ResponseReader::Put(std::string_view bytes) {
  if (!status_.ok()) return bytes.size();
  Parser& parser = impl_->parser;
  if (parser.is_done()) return 0;
  if (!bytes.empty()) got_some_ = true;
  std::string& pending = impl_->pending;
  // Parse straight from `bytes` unless an earlier piece is waiting for its continuation.
  std::string_view input = bytes;
  if (!pending.empty()) {
    pending.append(bytes);
    input = pending;
  }
  size_t used = 0;
  while (used < input.size() && !parser.is_done()) {
    error_code ec;
    const size_t n = parser.put(asio::buffer(input.data() + used, input.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) break;
    if (ec == http::error::body_limit) {
      const auto announced = parser.content_length();
      if (announced && *announced > limits_.max_body_bytes) {
        Fail(absl::ResourceExhaustedError(
            absl::StrCat("response from ", peer_, " announces Content-Length ", *announced,
                         ", more than max_response_bytes (", limits_.max_body_bytes, " bytes)")));
      } else {
        Fail(absl::ResourceExhaustedError(absl::StrCat("response body from ", peer_,
                                                       " is larger than max_response_bytes (",
                                                       limits_.max_body_bytes, " bytes)")));
      }
      return bytes.size();
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      Fail(absl::ResourceExhaustedError(absl::StrCat(
          "response header from ", peer_, " is larger than ", limits_.max_header_bytes, " bytes")));
      return bytes.size();
    }
    if (ec) {
      Fail(absl::DataLossError(
          absl::StrCat("malformed HTTP response from ", peer_, ": ", ec.message())));
      return bytes.size();
    }
    if (n == 0) break;
  }
  const size_t left = input.size() - used;
  if (parser.is_done()) {
    pending.clear();
    // Whatever is left came after the end of this response: all of it from `bytes`.
    return bytes.size() - std::min(left, bytes.size());
  }
  if (input.data() == pending.data()) {
    pending.erase(0, used);
  } else {
    pending.assign(input.substr(used));
  }
  return bytes.size();
}

void ResponseReader::PutEof() {
  if (!status_.ok()) return;
  Parser& parser = impl_->parser;
  if (parser.is_done()) return;
  if (!got_some_) {
    Fail(absl::UnavailableError(
        absl::StrCat("connection closed by ", peer_, " before any response")));
    return;
  }
  error_code ec;
  if (impl_->pending.empty()) parser.put_eof(ec);
  if (impl_->pending.empty() && !ec && parser.is_done()) return;
  const std::string what = parser.is_header_done() ? absl::StrCat("truncated response body (",
                                                                  body_bytes(), " bytes received)")
                                                   : std::string("truncated response header");
  Fail(absl::DataLossError(absl::StrCat(what, ": connection closed by ", peer_, " mid-response")));
}

bool ResponseReader::done() const { return status_.ok() && impl_->parser.is_done(); }

bool ResponseReader::header_done() const { return impl_->parser.is_header_done(); }

size_t ResponseReader::body_bytes() const { return impl_->parser.get().body().size(); }

bool ResponseReader::keep_alive() const {
  const Parser& p = impl_->parser;
  return done() && p.get().keep_alive() && !p.need_eof();
}

HttpResponse ResponseReader::TakeResponse() {
  http::response<PaddedStringBody> m = impl_->parser.release();
  HttpResponse r;
  r.status = static_cast<int>(m.result_int());
  r.reason = std::string(m.reason().data(), m.reason().size());
  for (const auto& field : m) {
    const auto name = field.name_string();
    const auto value = field.value();
    r.headers.Add(std::string(name.data(), name.size()), std::string(value.data(), value.size()));
  }
  r.body = std::move(m.body());
  // A body that never grew (none, or HEAD) still gets its padding.
  if (r.body.capacity() < r.body.size() + kResponseBodyPadding) {
    r.body.reserve(r.body.size() + kResponseBodyPadding);
  }
  return r;
}

}  // namespace marketpipe::net
