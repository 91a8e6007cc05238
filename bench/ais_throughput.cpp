// Throughput of AIS on a 50-dim latent 784-200-200-50 tanh Bernoulli MLP decoder (random init,
// random binary data): seconds per datapoint and decoder forward + backward columns per second.
// Usage: ais_throughput [T (default 20)] [datapoints (100)] [chains (16)]; extrapolates to T = 500.
#include <cstdlib>
#include <iostream>

#include "core/models/mlp_decoder_model.hpp"
#include "estimators/annealed_importance_sampling.hpp"

int main(int argc, char** argv) {
  using namespace vigap;
  const Index T = argc > 1 ? std::atoi(argv[1]) : 20;
  const Index B = argc > 2 ? std::atoi(argv[2]) : 100;
  const Index C = argc > 3 ? std::atoi(argv[3]) : 16;
  Rng rng(1);
  MlpDecoderModel model(50, {200, 200}, 784, Activation::tanh, Likelihood::bernoulli);
  model.network().initialize(rng);
  MatrixF X(784, B);
  for (Index j = 0; j < B; ++j)
    for (Index i = 0; i < 784; ++i) X(i, j) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;
  AisOptions o;
  o.num_annealing_steps = T;
  o.chains = C;
  o.leapfrog_steps = 10;
  o.show_progress = false;
  const AnnealedImportanceSamplingResult r = annealed_importance_sampling(model, X, o, rng);
  const double seconds = r.estimate.seconds;
  const double rows_per_second = static_cast<double>(r.gradient_evaluations) / seconds;
  const double columns_at_500 = static_cast<double>(B * C) * (1.0 + 499.0 * 10.0);
  std::cout << "T=" << T << " B=" << B << " C=" << C << ": " << seconds << " s, " << r.gradient_evaluations
            << " forward+backward columns, " << rows_per_second << " columns/s; mean log p-hat "
            << r.estimate.value << "\n"
            << "extrapolated T=500: " << columns_at_500 / rows_per_second << " s total, "
            << columns_at_500 / rows_per_second / static_cast<double>(B) << " s per datapoint\n";
}
