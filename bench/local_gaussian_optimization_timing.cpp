// Times optimize_local_gaussian on Cremer et al.'s decoder shape: z = 20, 20-200-200-784 ELU,
// Bernoulli (random initialization, random binary data), 100 datapoints, S = 50, 1000 steps
// with no early stop, for the diagonal and the full-covariance family.
#include <iostream>

#include "core/models/mlp_decoder_model.hpp"
#include "core/variational/local_gaussian_optimization.hpp"

int main() {
  using namespace vigap;
  Rng rng(1);
  MlpDecoderModel model(20, {200, 200}, 784, Activation::elu, Likelihood::bernoulli);
  model.network().initialize(rng);
  const Index B = 100;
  MatrixF X(784, B);
  for (Index j = 0; j < B; ++j)
    for (Index i = 0; i < 784; ++i) X(i, j) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;
  const DiagonalGaussian initial(MatrixD::Zero(20, B), MatrixD::Zero(20, B), "N(0, I)");
  for (LocalGaussianFamily family : {LocalGaussianFamily::diagonal, LocalGaussianFamily::full_covariance}) {
    LocalOptimizationOptions options;
    options.family = family;
    options.max_steps = 1000;
    options.patience = 1000;  // time every step of every datapoint
    const LocalGaussianOptimizationResult r = optimize_local_gaussian(model, X, initial, options, rng);
    std::cout << to_string(family) << ": " << r.steps << " steps, " << r.gradient_evaluations
              << " gradient evaluations, " << r.seconds << " s (" << 1e3 * r.seconds / static_cast<double>(r.steps)
              << " ms/step), mean check ELBO " << r.check_elbo.col(0).mean() << " -> " << r.best_check_elbo.mean()
              << "\n";
  }
}
