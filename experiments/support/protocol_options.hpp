#pragma once
// --protocol on a binary's command line: a published evaluation protocol's settings
// (analyses/evaluation_protocol.hpp) applied to every option the user did not give, and the
// record of what was applied and what the user overrode, for the JSON `configuration`.
#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analyses/evaluation_protocol.hpp"

namespace vigap {

/// What --protocol did to one run's options.
struct AppliedProtocol {
  std::string name = "none";  ///< bound to --protocol
  std::string reference;
  /// option -> the preset's value, for every setting this binary has an option for.
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();
  /// option -> where the preset's value comes from.
  nlohmann::ordered_json sources = nlohmann::ordered_json::object();
  /// option -> the value the user gave explicitly where it differs from the preset's. An explicit
  /// option equal to the preset's value (as a number: 1e-4 = 0.0001) is not an override.
  nlohmann::ordered_json overrides = nlohmann::ordered_json::object();
  /// Settings of the preset this binary has no option for (vigap-gap-table has no --iwae-k).
  std::vector<std::string> not_applicable;
  /// What the protocol did that vigap does not reproduce (EvaluationProtocol::not_reproduced).
  std::vector<std::string> not_reproduced;

  bool active() const { return name != "none"; }
  /// {"name", "reference", "settings", "overrides", "not_applicable", "not_reproduced", "sources"};
  /// {"name": "none"} without a protocol.
  nlohmann::ordered_json to_json() const;
};

/// Adds --protocol (bound to protocol.name, default "none") to `description`.
void add_protocol_option(boost::program_options::options_description& description, AppliedProtocol& protocol);

/// Applies the protocol named in vm["protocol"] to `vm` before notify: for each of its settings
/// whose option `description` has, an option the user gave explicitly (present and not
/// defaulted) is kept and recorded as an override when it differs; every other option gets the
/// preset's value (stored as if typed, so the option's own parser and checks apply). Fills
/// `protocol`. Throws std::invalid_argument naming --protocol for an unknown name (listing the
/// known ones); boost::program_options errors for a value the option refuses.
void apply_protocol(boost::program_options::variables_map& vm,
                    const boost::program_options::options_description& description, AppliedProtocol& protocol);

/// A hook for parse_command_line (command_line.hpp) that calls apply_protocol.
std::function<void(boost::program_options::variables_map&)> protocol_hook(
    const boost::program_options::options_description& description, AppliedProtocol& protocol);

}  // namespace vigap
