#include "experiments/support/protocol_options.hpp"

#include <functional>

namespace po = boost::program_options;

namespace vigap {

nlohmann::ordered_json AppliedProtocol::to_json() const {
  nlohmann::ordered_json j;
  j["name"] = name;
  if (!active()) return j;
  j["reference"] = reference;
  j["settings"] = settings;
  j["overrides"] = overrides;
  j["not_applicable"] = not_applicable;
  j["not_reproduced"] = not_reproduced;
  j["sources"] = sources;
  return j;
}

void add_protocol_option(po::options_description& description, AppliedProtocol& protocol) {
  description.add_options()("protocol", po::value(&protocol.name)->default_value(protocol.name),
                            ("a published evaluation protocol whose settings apply to every option not given "
                             "explicitly: " +
                             describe_evaluation_protocols() + " (see the README)")
                                .c_str());
}

namespace {

/// The value the user typed for `option` (its last occurrence), from the parsed command line.
std::string explicit_text(const po::variables_map& vm, const std::string& option) {
  // The typed tokens are not kept in a variables_map; re-render the stored value of the types
  // vigap's options use.
  const boost::any& value = vm[option].value();
  if (const auto* s = boost::any_cast<std::string>(&value)) return *s;
  if (const auto* i = boost::any_cast<long>(&value)) return std::to_string(*i);
  if (const auto* i = boost::any_cast<long long>(&value)) return std::to_string(*i);
  if (const auto* i = boost::any_cast<int>(&value)) return std::to_string(*i);
  if (const auto* u = boost::any_cast<unsigned long>(&value)) return std::to_string(*u);
  if (const auto* d = boost::any_cast<double>(&value)) {
    nlohmann::json j = *d;  // the shortest text that reads back as the same double
    return j.dump();
  }
  if (const auto* b = boost::any_cast<bool>(&value)) return *b ? "true" : "false";
  return "?";
}

}  // namespace

void apply_protocol(po::variables_map& vm, const po::options_description& description, AppliedProtocol& protocol) {
  const std::string name = vm.count("protocol") ? vm["protocol"].as<std::string>() : std::string("none");
  const EvaluationProtocol& preset = find_evaluation_protocol(name, "--protocol");
  protocol = AppliedProtocol{};
  protocol.name = preset.name;
  protocol.reference = preset.reference;
  protocol.not_reproduced = preset.not_reproduced;
  std::vector<std::string> arguments;
  for (const ProtocolSetting& s : preset.settings) {
    if (!description.find_nothrow(s.option, false)) {
      protocol.not_applicable.push_back(s.option);
      continue;
    }
    protocol.settings[s.option] = protocol_setting_value(s.value);
    protocol.sources[s.option] = s.source;
    if (vm.count(s.option) && !vm[s.option].defaulted()) {
      const std::string given = explicit_text(vm, s.option);
      if (!same_protocol_setting_value(given, s.value)) protocol.overrides[s.option] = protocol_setting_value(given);
      continue;
    }
    arguments.push_back("--" + s.option + "=" + s.value);
  }
  // A second store fills only what the first left defaulted or absent (program_options keeps the
  // first explicit value), through each option's own parser.
  po::store(po::command_line_parser(arguments).options(description).run(), vm);
}

std::function<void(po::variables_map&)> protocol_hook(const po::options_description& description,
                                                      AppliedProtocol& protocol) {
  return [&description, &protocol](po::variables_map& vm) { apply_protocol(vm, description, protocol); };
}

}  // namespace vigap
