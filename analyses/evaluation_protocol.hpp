#pragma once
// Published evaluation protocols as named presets: every setting a paper's evaluation used, as
// the command-line options of vigap's binaries that reproduce it, with where each value comes
// from and what vigap cannot reproduce.
//
// A preset is applied before the command line's explicit options (experiments/support/
// protocol_options.hpp): an option the user gives wins and is recorded as an override.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vigap {

/// One setting of a protocol: a command-line option and its value as it would be typed.
struct ProtocolSetting {
  std::string option;  ///< the option's long name without dashes ("ais-steps")
  std::string value;   ///< its value as typed on a command line ("10000", "linear")
  std::string source;  ///< where the value comes from (paper section, file of the authors' code)
};

/// A published evaluation protocol.
struct EvaluationProtocol {
  std::string name;       ///< what --protocol takes ("cremer2018")
  std::string reference;  ///< the citation
  /// Every setting, in the order they are applied. A binary applies the ones it has an option for
  /// (vigap-gap-table has no --iwae-k, vigap-evaluate no --qstar-samples).
  std::vector<ProtocolSetting> settings;
  /// What the authors did that vigap does not reproduce (never silently different).
  std::vector<std::string> not_reproduced;
};

/// The registry, in order: "none" (no setting: the binaries' own defaults), "cremer2018"
/// (Cremer, Li & Duvenaud 2018), "wu2017" (Wu, Burda, Salakhutdinov & Grosse 2017). Each
/// protocol's settings and their sources are in evaluation_protocol.cpp and the README.
const std::vector<EvaluationProtocol>& evaluation_protocols();

/// "none, cremer2018, wu2017".
std::string describe_evaluation_protocols();

/// The protocol called `name`; throws std::invalid_argument naming `option` ("--protocol"), the
/// name found and the known ones otherwise.
const EvaluationProtocol& find_evaluation_protocol(const std::string& name, const std::string& option);

/// The JSON value of a setting typed as `text`: an integer ("10000" -> 10000), a number
/// ("1e-4" -> 0.0001) or else the string.
nlohmann::ordered_json protocol_setting_value(const std::string& text);

/// Whether two typed values of a setting are the same value: equal as numbers when both are
/// numbers ("1e-4" and "0.0001"), else equal as strings.
bool same_protocol_setting_value(const std::string& a, const std::string& b);

}  // namespace vigap
