#include "samplers/leapfrog_integrator.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/models/linear_gaussian_model.hpp"
#include "samplers/hmc_target.hpp"

namespace vigap {
namespace {

struct GaussianPosteriorFixture {
  Rng rng{11};
  LinearGaussianModel model = LinearGaussianModel::random(6, 3, 1.0, 0.7, rng);
  ModelSample sample = model.sample(2, rng);
  static constexpr Index kChains = 3;
  BatchLogDensity target = log_joint_target(model, sample.data, kChains);

  PhaseSpaceState start() {
    PhaseSpaceState s;
    s.position = standard_normal_matrix(3, 2 * kChains, rng);
    s.momentum = standard_normal_matrix(3, 2 * kChains, rng);
    target(s.position, s.evaluation);
    return s;
  }
};

TEST(LeapfrogIntegrator, IsReversible) {
  GaussianPosteriorFixture f;
  const PhaseSpaceState initial = f.start();
  PhaseSpaceState state = initial;
  const VectorD steps = VectorD::LinSpaced(6, 0.05, 0.3);
  const MatrixD inverse_mass = MatrixD::Constant(3, 6, 0.7);
  const Index evaluations = leapfrog_integrate(f.target, steps, inverse_mass, 25, state);
  EXPECT_EQ(evaluations, 25 * 6);
  EXPECT_GT((state.position - initial.position).norm(), 0.1);  // it moved
  state.momentum = -state.momentum;
  leapfrog_integrate(f.target, steps, inverse_mass, 25, state);
  EXPECT_LT((state.position - initial.position).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_LT((state.momentum + initial.momentum).cwiseAbs().maxCoeff(), 1e-10);
  EXPECT_LT((state.evaluation.log_density - initial.evaluation.log_density).cwiseAbs().maxCoeff(), 1e-9);
}

TEST(LeapfrogIntegrator, EnergyErrorIsSecondOrderInTheStepSize) {
  GaussianPosteriorFixture f;
  const PhaseSpaceState initial = f.start();
  const MatrixD inverse_mass = MatrixD::Ones(3, 6);
  const VectorD h0 = hamiltonian(initial, inverse_mass);
  auto max_energy_error = [&](double step, Index steps) {  // same integration time 0.5
    PhaseSpaceState s = initial;
    leapfrog_integrate(f.target, VectorD::Constant(6, step), inverse_mass, steps, s);
    return (hamiltonian(s, inverse_mass) - h0).cwiseAbs().maxCoeff();
  };
  const double coarse = max_energy_error(0.02, 25);
  const double fine = max_energy_error(0.01, 50);
  EXPECT_LT(coarse, 1e-2);
  EXPECT_GT(coarse, 0.0);
  // Halving ε divides the energy error by ≈ 4 (leapfrog is a second-order integrator).
  EXPECT_GT(coarse / fine, 3.0);
  EXPECT_LT(coarse / fine, 5.5);
}

TEST(LeapfrogIntegrator, RejectsMismatchedShapes) {
  GaussianPosteriorFixture f;
  PhaseSpaceState s = f.start();
  EXPECT_THROW(leapfrog_integrate(f.target, VectorD::Constant(5, 0.1), MatrixD::Ones(3, 6), 3, s),
               std::invalid_argument);
  EXPECT_THROW(leapfrog_integrate(f.target, VectorD::Constant(6, 0.1), MatrixD::Ones(3, 6), 0, s),
               std::invalid_argument);
}

}  // namespace
}  // namespace vigap
