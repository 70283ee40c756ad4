#include "marketpipe/providers/registry/provider_registry.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "marketpipe/core/time_format.h"
#include "testing/async_test.h"

namespace marketpipe {
namespace {

class ProviderRegistryTest : public mptest::AsyncTest {
 protected:
  ProviderContext Context(std::map<std::string, std::string> env) {
    ProviderContext c;
    c.executor = io().get_executor();
    c.time = &time();
    c.env = [env](std::string_view name) -> std::optional<std::string> {
      auto it = env.find(std::string(name));
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
    return c;
  }
};

TEST_F(ProviderRegistryTest, FakeIsTheDefaultAndFetchesBars) {
  auto provider = MakeProvider(ProviderConfig{}, Context({}));
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->name(), "fake");
  auto range = *TimeRange::Create(*ParseRfc3339("2024-01-02T14:30:00Z"),
                                  *ParseRfc3339("2024-01-02T14:35:00Z"));
  auto bars =
      RunAsync((*provider)->FetchBars(*Symbol::Parse("AAPL"), range, Timeframe::kOneMinute));
  ASSERT_TRUE(bars.ok()) << bars.status();
  EXPECT_EQ(bars->size(), 5u);
}

TEST_F(ProviderRegistryTest, UnknownProviderListsTheKnownOnes) {
  ProviderConfig config;
  config.name = "polygon";
  auto provider = MakeProvider(config, Context({}));
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().message(),
            "unknown provider \"polygon\"; known providers: alpaca, fake");
}

TEST_F(ProviderRegistryTest, AlpacaWithoutCredentialsSaysWhichVariableIsMissing) {
  ProviderConfig config;
  config.name = "alpaca";
  auto none = MakeProvider(config, Context({}));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("set ALPACA_KEY and ALPACA_SECRET"), std::string::npos);
  auto no_secret = MakeProvider(config, Context({{"ALPACA_KEY", "PK1"}}));
  ASSERT_FALSE(no_secret.ok());
  EXPECT_NE(no_secret.status().message().find("set ALPACA_SECRET in"), std::string::npos)
      << no_secret.status();
}

TEST_F(ProviderRegistryTest, AlpacaSettingsAreValidatedWithoutLeakingTheSecret) {
  ProviderConfig config;
  config.name = "alpaca";
  config.feed = "otc";
  auto bad_feed =
      MakeProvider(config, Context({{"ALPACA_KEY", "PK1"}, {"ALPACA_SECRET", "s3cr3t-value"}}));
  ASSERT_FALSE(bad_feed.ok());
  EXPECT_NE(bad_feed.status().message().find("feed"), std::string::npos);
  EXPECT_EQ(bad_feed.status().message().find("s3cr3t-value"), std::string::npos);

  config.feed = "sip";
  config.requests_per_minute = 0;
  auto bad_rate = MakeProvider(config, Context({{"ALPACA_KEY", "PK1"}, {"ALPACA_SECRET", "s"}}));
  ASSERT_FALSE(bad_rate.ok());
  EXPECT_NE(bad_rate.status().message().find("rate limit"), std::string::npos);

  config.requests_per_minute = 200;
  auto env_url = MakeProvider(
      config,
      Context({{"ALPACA_KEY", "PK1"}, {"ALPACA_SECRET", "s"}, {"ALPACA_BASE_URL", "gopher://x"}}));
  ASSERT_FALSE(env_url.ok());
  EXPECT_NE(env_url.status().message().find("gopher://x"), std::string::npos);
}

TEST_F(ProviderRegistryTest, AlpacaIsBuiltFromEnvironment) {
  ProviderConfig config;
  config.name = "alpaca";
  auto provider = MakeProvider(config, Context({{"ALPACA_KEY", "PK1"}, {"ALPACA_SECRET", "s"}}));
  ASSERT_TRUE(provider.ok()) << provider.status();
  EXPECT_EQ((*provider)->name(), "alpaca");
}

}  // namespace
}  // namespace marketpipe
