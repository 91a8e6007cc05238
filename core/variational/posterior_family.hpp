#pragma once
// The registry of posterior families: the one list every binary's options and help text use.
#include <optional>
#include <string>
#include <vector>

namespace vigap {

/// A family of posterior approximations q(z|x) the toolkit can fit or evaluate.
enum class PosteriorFamily {
  amortized,  ///< the encoder's q_φ(z|x) (through the checkpoint's global flow when it has one)
  ffg,        ///< q*_FFG: a diagonal Gaussian fitted to each datapoint alone
  full,       ///< q*_full: a full-covariance Gaussian fitted to each datapoint alone
  flow,       ///< q*_flow: an affine coupling flow on a diagonal Gaussian, fitted per datapoint
};

/// What the registry says about one family.
struct PosteriorFamilyInfo {
  PosteriorFamily family;
  std::string name;         ///< the command-line spelling: "amortized", "ffg", "full", "flow"
  std::string label;        ///< for tables: "q*_FFG (diagonal Gaussian)", ...
  std::string description;  ///< one line for help texts
  std::string fitted_by;    ///< how it is obtained
  /// A family it contains (its optimum can only be better), and the one its fit starts from.
  std::optional<PosteriorFamily> contains;
  std::optional<PosteriorFamily> starts_from;
};

/// Every family, in table order: amortized, ffg, full, flow.
const std::vector<PosteriorFamilyInfo>& posterior_families();
const PosteriorFamilyInfo& posterior_family_info(PosteriorFamily family);
const std::string& to_string(PosteriorFamily family);

/// The families fitted per datapoint (ffg, full, flow): those a gap table has a q* row for.
std::vector<PosteriorFamily> local_posterior_families();

/// "ffg,flow" -> {ffg, flow}, in registry order without duplicates. `accepted` lists the
/// families the option allows; "amortized" is accepted and dropped when drop_amortized (a table
/// that always has that row). Throws std::invalid_argument naming `option`, the unknown name and
/// every accepted family with its description.
std::vector<PosteriorFamily> parse_posterior_families(const std::string& text, const std::string& option,
                                                      const std::vector<PosteriorFamily>& accepted,
                                                      bool drop_amortized = false);

/// "ffg (q* diagonal Gaussian), full (...)" for the families listed: an option's help text.
std::string describe_posterior_families(const std::vector<PosteriorFamily>& families);

}  // namespace vigap
