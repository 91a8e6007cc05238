// --protocol on a command line: the preset fills every option not given, an explicit option wins
// and is an override only when its value differs, options the binary lacks are listed, and an
// unknown name is refused naming the known ones.
#include "experiments/support/protocol_options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/types.hpp"
#include "experiments/support/command_line.hpp"
#include "support/expect_throw_message.hpp"

namespace vigap {
namespace {

namespace po = boost::program_options;

/// A binary with a few of the options cremer2018 sets (and none of the others).
struct Parsed {
  CommonOptions common;
  AppliedProtocol protocol;
  Index ais_steps = 1000, ais_chains = 16, eval_samples = 5000;
  double target = 0.5;
  std::string schedule = "sigmoid";
  bool parsed = false;
};

Parsed parse(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), "vigap-test");
  std::vector<char*> argv;
  for (std::string& a : arguments) argv.push_back(a.data());
  Parsed p;
  po::options_description d("Options");
  add_common_options(d, p.common, "out.json");
  add_protocol_option(d, p.protocol);
  d.add_options()
      ("ais-steps", po::value(&p.ais_steps)->default_value(p.ais_steps), "T")
      ("ais-chains", po::value(&p.ais_chains)->default_value(p.ais_chains), "C")
      ("ais-target-acceptance", po::value(&p.target)->default_value(p.target), "target")
      ("ais-schedule", po::value(&p.schedule)->default_value(p.schedule), "schedule")
      ("eval-samples", po::value(&p.eval_samples), "no default: absent unless given or set");
  p.parsed = parse_command_line(static_cast<int>(argv.size()), argv.data(), "vigap-test", "test", d, p.common,
                                protocol_hook(d, p.protocol));
  return p;
}

TEST(ProtocolOptions, WithoutAProtocolNothingChangesAndNoneIsRecorded) {
  const Parsed p = parse({"--ais-steps", "50"});
  EXPECT_EQ(p.ais_steps, 50);
  EXPECT_EQ(p.ais_chains, 16);
  EXPECT_DOUBLE_EQ(p.target, 0.5);
  EXPECT_FALSE(p.protocol.active());
  EXPECT_EQ(p.protocol.to_json(), nlohmann::ordered_json({{"name", "none"}}));
}

TEST(ProtocolOptions, ThePresetSetsEveryOptionNotGivenAndRecordsEachSetting) {
  const Parsed p = parse({"--protocol", "cremer2018"});
  EXPECT_EQ(p.ais_steps, 10000);
  EXPECT_EQ(p.ais_chains, 100);
  EXPECT_DOUBLE_EQ(p.target, 0.65);
  EXPECT_EQ(p.schedule, "linear");
  EXPECT_EQ(p.eval_samples, 5000);  // an option without a default is set too
  const nlohmann::ordered_json j = p.protocol.to_json();
  EXPECT_EQ(j["name"], "cremer2018");
  EXPECT_NE(j["reference"].get<std::string>().find("Cremer, Li & Duvenaud (2018)"), std::string::npos);
  EXPECT_EQ(j["settings"], nlohmann::ordered_json::parse(
                               R"({"ais-steps": 10000, "ais-chains": 100, "ais-schedule": "linear",
                                   "ais-target-acceptance": 0.65, "eval-samples": 5000})"));
  EXPECT_TRUE(j["overrides"].empty());
  EXPECT_EQ(j["sources"].size(), 5u);
  // Every other setting of the preset is listed as not applicable to this binary.
  const EvaluationProtocol& preset = find_evaluation_protocol("cremer2018", "--protocol");
  EXPECT_EQ(p.protocol.not_applicable.size(), preset.settings.size() - 5);
  EXPECT_EQ(p.protocol.not_reproduced, preset.not_reproduced);
}

TEST(ProtocolOptions, AnExplicitOptionWinsAndIsAnOverrideOnlyWhenItDiffers) {
  const Parsed p = parse({"--ais-steps", "200", "--protocol", "cremer2018", "--ais-chains", "100", "--ais-schedule",
                          "sigmoid", "--ais-target-acceptance", "6.5e-1"});
  EXPECT_EQ(p.ais_steps, 200);
  EXPECT_EQ(p.schedule, "sigmoid");
  EXPECT_DOUBLE_EQ(p.target, 0.65);
  EXPECT_EQ(p.eval_samples, 5000);
  EXPECT_EQ(p.protocol.overrides, nlohmann::ordered_json::parse(R"({"ais-steps": 200, "ais-schedule": "sigmoid"})"));
  // The preset's own values stay recorded next to the overrides.
  EXPECT_EQ(p.protocol.settings["ais-steps"], 10000);
}

TEST(ProtocolOptions, AnExplicitValueThePresetsOptionRefusesIsStillCheckedByTheOption) {
  testing::expect_throw_message<std::invalid_argument>([] { parse({"--protocol", "wu2017", "--ais-steps", "many"}); },
                                                       {"ais-steps", "vigap-test --help"});
}

TEST(ProtocolOptions, AnUnknownProtocolIsRefusedNamingTheKnownOnes) {
  testing::expect_throw_message<std::invalid_argument>([] { parse({"--protocol", "cremer"}); },
                                                       {"--protocol must be one of none, cremer2018, wu2017", "'cremer'"});
}

}  // namespace
}  // namespace vigap
