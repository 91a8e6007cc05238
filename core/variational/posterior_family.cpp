#include "core/variational/posterior_family.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace vigap {

const std::vector<PosteriorFamilyInfo>& posterior_families() {
  static const std::vector<PosteriorFamilyInfo> families{
      {PosteriorFamily::amortized, "amortized", "amortized q (encoder)", "the encoder's q(z|x), one network for all x",
       "training the VAE (vigap-train)", std::nullopt, std::nullopt},
      {PosteriorFamily::ffg, "ffg", "q*_FFG (diagonal Gaussian)", "q* diagonal Gaussian",
       "fit_local_posterior (optimize_local_gaussian, diagonal), from the encoder's q or N(0, I)", std::nullopt,
       PosteriorFamily::amortized},
      {PosteriorFamily::full, "full", "q*_full (full-covariance Gaussian)", "q* full-covariance Gaussian",
       "fit_local_posterior (optimize_local_gaussian, full covariance), from the encoder's q or N(0, I)",
       PosteriorFamily::ffg, PosteriorFamily::amortized},
      {PosteriorFamily::flow, "flow", "q*_flow (local affine coupling flow)", "q* local flow",
       "fit_local_posterior (optimize_local_flow), from q*_FFG when it was fitted (the flow at identity is that "
       "Gaussian)",
       PosteriorFamily::ffg, PosteriorFamily::ffg},
  };
  return families;
}

const PosteriorFamilyInfo& posterior_family_info(PosteriorFamily family) {
  for (const PosteriorFamilyInfo& info : posterior_families())
    if (info.family == family) return info;
  throw std::invalid_argument("posterior_family_info: unknown family " + std::to_string(static_cast<int>(family)));
}

const std::string& to_string(PosteriorFamily family) { return posterior_family_info(family).name; }

std::vector<PosteriorFamily> local_posterior_families() {
  return {PosteriorFamily::ffg, PosteriorFamily::full, PosteriorFamily::flow};
}

std::string describe_posterior_families(const std::vector<PosteriorFamily>& families) {
  std::string out;
  for (PosteriorFamily f : families) {
    const PosteriorFamilyInfo& info = posterior_family_info(f);
    out += (out.empty() ? "" : ", ") + info.name + " (" + info.description + ")";
  }
  return out;
}

std::vector<PosteriorFamily> parse_posterior_families(const std::string& text, const std::string& option,
                                                      const std::vector<PosteriorFamily>& accepted,
                                                      bool drop_amortized) {
  std::vector<PosteriorFamily> requested;
  std::stringstream stream(text);
  std::string item;
  const auto is_accepted = [&](PosteriorFamily f) {
    return std::find(accepted.begin(), accepted.end(), f) != accepted.end();
  };
  bool saw_amortized = false;
  while (std::getline(stream, item, ',')) {
    if (drop_amortized && item == "amortized") {
      saw_amortized = true;
      continue;
    }
    const auto& all = posterior_families();
    const auto it = std::find_if(all.begin(), all.end(), [&](const PosteriorFamilyInfo& i) { return i.name == item; });
    if (it == all.end() || !is_accepted(it->family))
      throw std::invalid_argument(option + ": unknown family '" + item + "': expected a comma-separated list of " +
                                  describe_posterior_families(accepted) +
                                  (drop_amortized ? ", amortized (always a row)" : ""));
    requested.push_back(it->family);
  }
  std::vector<PosteriorFamily> families;
  for (const PosteriorFamilyInfo& info : posterior_families())
    if (std::find(requested.begin(), requested.end(), info.family) != requested.end()) families.push_back(info.family);
  if (families.empty() && !saw_amortized)
    throw std::invalid_argument(option + ": expected at least one of " + describe_posterior_families(accepted) +
                                ", found '" + text + "'");
  return families;
}

}  // namespace vigap
