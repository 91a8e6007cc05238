// The protocol registry: every preset names its sources, the known names are listed when an
// unknown one is asked for, and typed values compare as numbers.
#include "analyses/evaluation_protocol.hpp"

#include <gtest/gtest.h>

#include <set>

#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

TEST(EvaluationProtocol, TheRegistryHoldsNoneCremerAndWuWithEverySettingSourcedOnce) {
  const auto& protocols = evaluation_protocols();
  ASSERT_EQ(protocols.size(), 3u);
  EXPECT_EQ(protocols[0].name, "none");
  EXPECT_TRUE(protocols[0].settings.empty());
  EXPECT_EQ(describe_evaluation_protocols(), "none, cremer2018, wu2017");
  for (const EvaluationProtocol& p : protocols) {
    SCOPED_TRACE(p.name);
    std::set<std::string> options;
    for (const ProtocolSetting& s : p.settings) {
      EXPECT_TRUE(options.insert(s.option).second) << s.option << " is set twice";
      EXPECT_FALSE(s.value.empty()) << s.option;
      EXPECT_FALSE(s.source.empty()) << s.option;
      EXPECT_EQ(s.option.rfind("--", 0), std::string::npos) << s.option << ": names are without dashes";
    }
    if (p.name != "none") {
      EXPECT_FALSE(p.reference.empty());
      EXPECT_FALSE(p.not_reproduced.empty());
    }
  }
}

TEST(EvaluationProtocol, CremerSetsThePublishedAisAndQStarSettings) {
  const EvaluationProtocol& p = find_evaluation_protocol("cremer2018", "--protocol");
  const auto value = [&](const std::string& option) {
    for (const ProtocolSetting& s : p.settings)
      if (s.option == option) return s.value;
    return std::string("<unset>");
  };
  EXPECT_EQ(value("ais-steps"), "10000");
  EXPECT_EQ(value("ais-chains"), "100");
  EXPECT_EQ(value("ais-leapfrog-steps"), "10");
  EXPECT_EQ(value("ais-target-acceptance"), "0.65");
  EXPECT_EQ(value("ais-step-increase"), "1.02");
  EXPECT_EQ(value("ais-step-decrease"), "0.98");
  EXPECT_EQ(value("ais-adaptation"), "online");
  EXPECT_EQ(value("iwae-k"), "5000");
  EXPECT_EQ(value("eval-samples"), "5000");
  EXPECT_EQ(value("init"), "prior");
  EXPECT_EQ(value("num-datapoints"), "1000");
  const EvaluationProtocol& wu = find_evaluation_protocol("wu2017", "--protocol");
  EXPECT_EQ(wu.settings.size(), 15u);
}

TEST(EvaluationProtocol, AnUnknownNameIsRefusedNamingTheOptionAndTheKnownOnes) {
  testing::expect_throw_message<std::invalid_argument>(
      [] { find_evaluation_protocol("burda2015", "--protocol"); },
      {"--protocol must be one of none, cremer2018, wu2017, found 'burda2015'"});
}

TEST(EvaluationProtocol, TypedValuesAreNumbersWhereTheyReadAsNumbers) {
  EXPECT_EQ(protocol_setting_value("10000"), nlohmann::ordered_json(10000));
  EXPECT_TRUE(protocol_setting_value("10000").is_number_integer());
  EXPECT_EQ(protocol_setting_value("1e-4"), nlohmann::ordered_json(1e-4));
  EXPECT_EQ(protocol_setting_value("linear"), nlohmann::ordered_json("linear"));
  EXPECT_EQ(protocol_setting_value("ffg,flow"), nlohmann::ordered_json("ffg,flow"));
  EXPECT_TRUE(same_protocol_setting_value("1e-4", "0.0001"));
  EXPECT_TRUE(same_protocol_setting_value("100", "1e2"));
  EXPECT_FALSE(same_protocol_setting_value("100", "101"));
  EXPECT_FALSE(same_protocol_setting_value("linear", "sigmoid"));
  EXPECT_FALSE(same_protocol_setting_value("100", "linear"));
}

}  // namespace
}  // namespace vigap
