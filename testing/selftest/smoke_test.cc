#include <absl/status/statusor.h>
#include <absl/strings/str_cat.h>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <postgresql/libpq-fe.h>
#include <simdjson.h>
#include <sqlite3.h>

TEST(Smoke, Links) {
  absl::StatusOr<int> v = absl::InvalidArgumentError(absl::StrCat("x", 1));
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(boost::json::parse("[1]").as_array().size(), 1u);
  simdjson::ondemand::parser p;
  EXPECT_NE(sqlite3_libversion_number(), 0);
  EXPECT_GT(PQlibVersion(), 0);
  EXPECT_NE(OpenSSL_version_num(), 0u);
}
