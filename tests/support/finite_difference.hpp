#pragma once
// Finite-difference checks of hand-written gradients (test support).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <type_traits>

#include "core/random.hpp"
#include "core/types.hpp"

namespace vigap::testing {

/// Central differences (f(θ + h e_i) - f(θ - h e_i)) / 2h on `coordinates` coordinates of θ
/// spread evenly over the vector (all when it has fewer), and along one random direction,
/// compared with `gradient`. f is evaluated in float networks with double reductions, so the
/// tolerance is |fd - g| <= absolute + relative * max(|fd|, |g|).
template <typename Vector>
void expect_gradient_matches_finite_differences(const std::function<double(const Vector&)>& f,
                                                std::type_identity_t<Vector> theta,
                                                const std::type_identity_t<Vector>& gradient, double step, double absolute,
                                                double relative, Index coordinates, const std::string& what) {
  ASSERT_EQ(theta.size(), gradient.size()) << what;
  const Index n = theta.size();
  const Index count = std::min(coordinates, n);
  int failures = 0;
  for (Index k = 0; k < count; ++k) {
    const Index i = count == n ? k : (k * n) / count + (k * 7919) % std::max<Index>(1, n / count);
    const auto original = theta(i);
    theta(i) = original + static_cast<typename Vector::Scalar>(step);
    const double up = f(theta);
    theta(i) = original - static_cast<typename Vector::Scalar>(step);
    const double down = f(theta);
    theta(i) = original;
    const double fd = (up - down) / (2.0 * step);
    const double g = static_cast<double>(gradient(i));
    const double tolerance = absolute + relative * std::max(std::abs(fd), std::abs(g));
    if (std::abs(fd - g) > tolerance && failures++ < 10)
      ADD_FAILURE() << what << ": coordinate " << i << " finite difference " << fd << " vs gradient " << g;
  }
  EXPECT_EQ(failures, 0) << what << ": " << failures << " of " << count << " coordinates disagree";
  // A random direction exercises every coordinate at once.
  Rng rng(12345);
  Vector direction(n);
  fill_standard_normal(direction, rng);
  direction /= static_cast<typename Vector::Scalar>(direction.norm());
  const Vector up_theta = theta + static_cast<typename Vector::Scalar>(step) * direction;
  const Vector down_theta = theta - static_cast<typename Vector::Scalar>(step) * direction;
  const double fd = (f(up_theta) - f(down_theta)) / (2.0 * step);
  const double g = static_cast<double>(gradient.dot(direction));
  EXPECT_NEAR(fd, g, absolute + relative * std::max(std::abs(fd), std::abs(g))) << what << ": random direction";
}

}  // namespace vigap::testing
