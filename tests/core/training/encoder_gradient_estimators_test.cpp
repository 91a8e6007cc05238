// The path-only encoder gradients of vae_objective: sticking the landing (STL, Roeder et al. 2017)
// and the doubly reparameterized IWAE gradient (DReG, Tucker et al. 2018). Each is the gradient of
// a surrogate with q's parameters held fixed inside log q (finite differences); STL-ELBO and DReG
// have the expectation of the reparameterized gradient; both vanish exactly when q = p(z|x).
#include <gtest/gtest.h>

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <ostream>

#include "core/models/mlp_decoder_model.hpp"
#include "core/variational/gaussian_encoder.hpp"
#include "core/math/log_sum_exp.hpp"
#include "core/training/vae_objective.hpp"
#include "support/finite_difference.hpp"
#include "support/linear_gaussian_vae.hpp"
#include "support/test_seed.hpp"

namespace vigap {
namespace {

struct SmallVae {
  GaussianEncoder encoder{8, {6}, 2, Activation::tanh};
  MlpDecoderModel decoder{2, {6}, 8, Activation::tanh, Likelihood::bernoulli};
  MatrixF X;
};

SmallVae make_small_vae(Index B, std::uint64_t seed) {
  SmallVae v;
  Rng rng(testing::test_seed(seed));
  v.encoder.network().initialize(rng);
  v.decoder.network().initialize(rng);
  v.X.resize(8, B);
  for (Index i = 0; i < v.X.size(); ++i) v.X(i) = uniform_01(rng) < 0.5 ? 1.0f : 0.0f;
  return v;
}

VaeObjectiveOptions objective_options(TrainingObjective objective, Index samples, EncoderGradient gradient) {
  VaeObjectiveOptions o;
  o.objective = objective;
  o.kl_estimator = KlEstimator::monte_carlo;
  o.samples = samples;
  o.encoder_gradient = gradient;
  return o;
}

/// h(φ) = Σ_c e_c [log p(x|z_c) + log p(z_c) - log q₀(z_c)] with z_c = μ_φ(x) + exp(v_φ(x)/2) ε_c and
/// q₀ = N(μ₀, diag e^{v₀}) the encoder's q at `fixed` (held constant: the stop-gradient of STL/DReG).
double stopped_q_surrogate(const GaussianEncoder& encoder, const GaussianEncoder& fixed, const MlpDecoderModel& decoder,
                           const MatrixF& X, const MatrixF& noise, Index S, const VectorD& column_weights) {
  GaussianEncoder::Workspace ws;
  MatrixF mean, log_variance, mean0, log_variance0;
  encoder.forward(X, ws, mean, log_variance);
  fixed.forward(X, ws, mean0, log_variance0);
  const Index d = encoder.latent_dim(), N = noise.cols();
  MatrixD Z(d, N);
  double total = 0.0;
  for (Index c = 0; c < N; ++c) {
    const Index b = c / S;
    const VectorD sd = (0.5 * log_variance.col(b).cast<double>().array()).exp();
    const VectorD sd0 = (0.5 * log_variance0.col(b).cast<double>().array()).exp();
    Z.col(c) = mean.col(b).cast<double>() + sd.cwiseProduct(noise.col(c).cast<double>());
    const VectorD u = (Z.col(c) - mean0.col(b).cast<double>()).cwiseQuotient(sd0);
    total += column_weights(c) *
             (-0.5 * Z.col(c).squaredNorm() + 0.5 * u.squaredNorm() + 0.5 * log_variance0.col(b).cast<double>().sum());
  }
  const VectorD log_likelihood = decoder.log_likelihood(X, Z, S);
  for (Index c = 0; c < N; ++c) total += column_weights(c) * log_likelihood(c);
  return total;
}

/// The surrogate's column weights at the current parameters: STL-ELBO 1/(BS), STL-IWAE w̃/B, DReG w̃²/B.
VectorD surrogate_weights(const SmallVae& v, const MatrixF& noise, Index S, EncoderGradient gradient,
                          TrainingObjective objective) {
  const Index B = v.X.cols();
  if (objective == TrainingObjective::elbo) return VectorD::Constant(B * S, 1.0 / static_cast<double>(B * S));
  // Normalized importance weights from the log weights of the standard objective.
  GaussianEncoder::Workspace ws;
  MatrixF mean, log_variance;
  v.encoder.forward(v.X, ws, mean, log_variance);
  MatrixD Z(2, B * S);
  VectorD log_ratio(B * S);
  for (Index c = 0; c < B * S; ++c) {
    const VectorD sd = (0.5 * log_variance.col(c / S).cast<double>().array()).exp();
    Z.col(c) = mean.col(c / S).cast<double>() + sd.cwiseProduct(noise.col(c).cast<double>());
    log_ratio(c) = -0.5 * Z.col(c).squaredNorm() + 0.5 * noise.col(c).cast<double>().squaredNorm() +
                   0.5 * log_variance.col(c / S).cast<double>().sum();
  }
  const VectorD log_w = v.decoder.log_likelihood(v.X, Z, S) + log_ratio;
  VectorD e(B * S);
  for (Index b = 0; b < B; ++b) {
    const double lse = log_sum_exp(VectorD(log_w.segment(b * S, S)));
    for (Index s = 0; s < S; ++s) {
      const double normalized = std::exp(log_w(b * S + s) - lse);
      e(b * S + s) = (gradient == EncoderGradient::doubly_reparameterized ? normalized * normalized : normalized) /
                     static_cast<double>(B);
    }
  }
  return e;
}

struct PathCase {
  TrainingObjective objective;
  EncoderGradient gradient;
  Index samples;
};

void PrintTo(const PathCase& c, std::ostream* os) {
  *os << to_string(c.objective) << " " << to_string(c.gradient) << " S=" << c.samples;
}

class PathGradient : public ::testing::TestWithParam<PathCase> {};

TEST_P(PathGradient, EncoderGradientIsTheStoppedQSurrogatesGradientAndDecoderIsUnchanged) {
  const PathCase c = GetParam();
  const SmallVae v = make_small_vae(3, 17);
  Rng rng(testing::test_seed(5));
  MatrixF noise(2, v.X.cols() * c.samples);
  fill_standard_normal(noise, rng);
  const VaeObjectiveOptions options = objective_options(c.objective, c.samples, c.gradient);
  VaeObjectiveWorkspace ws;
  VectorF grad_encoder, grad_decoder, standard_encoder, standard_decoder;
  VectorD per_datapoint, standard_per_datapoint;
  const double value = vae_objective(v.encoder, v.decoder, v.X, noise, options, ws, &grad_encoder, &grad_decoder,
                                     &per_datapoint);
  const double standard_value = vae_objective(
      v.encoder, v.decoder, v.X, noise, objective_options(c.objective, c.samples, EncoderGradient::reparameterized),
      ws, &standard_encoder, &standard_decoder, &standard_per_datapoint);
  // The value and the decoder gradient do not depend on the encoder-gradient estimator.
  EXPECT_EQ(value, standard_value);
  EXPECT_EQ(per_datapoint, standard_per_datapoint);
  EXPECT_EQ(grad_decoder, standard_decoder);
  // ...while the encoder gradient does (the dropped score term is not zero for one noise draw).
  EXPECT_GT((grad_encoder - standard_encoder).norm(), 1e-3 * standard_encoder.norm());

  const VectorD e = surrogate_weights(v, noise, c.samples, c.gradient, c.objective);
  std::function<double(const VectorF&)> h = [&](const VectorF& phi) {
    GaussianEncoder encoder = v.encoder;
    encoder.network().parameters() = phi;
    return stopped_q_surrogate(encoder, v.encoder, v.decoder, v.X, noise, c.samples, e);
  };
  testing::expect_gradient_matches_finite_differences(h, v.encoder.network().parameters(), grad_encoder, 1e-2, 2e-3,
                                                      1e-2, 200, "encoder " + to_string(c.gradient));
}

INSTANTIATE_TEST_SUITE_P(Estimators, PathGradient,
                         ::testing::Values(PathCase{TrainingObjective::elbo, EncoderGradient::sticking_the_landing, 1},
                                           PathCase{TrainingObjective::elbo, EncoderGradient::sticking_the_landing, 4},
                                           PathCase{TrainingObjective::iwae, EncoderGradient::sticking_the_landing, 5},
                                           PathCase{TrainingObjective::iwae, EncoderGradient::doubly_reparameterized, 5}),
                         [](const auto& info) {
                           return to_string(info.param.objective) + "_" + to_string(info.param.gradient) + "_S" +
                                  std::to_string(info.param.samples);
                         });

// On the linear-Gaussian model with q(z|x) = p(z|x), log p(x, z) - log q(z|x) = log p(x) for every z,
// so the path-only encoder gradients are exactly zero (float rounding aside) for every noise draw,
// while the reparameterized gradient is not (its score term has mean zero but not value zero).
TEST(PathGradient, VanishesWhenQIsTheExactPosterior) {
  const testing::LinearGaussianVae v = testing::make_linear_gaussian_vae(2, 6, 4, 3);
  Rng rng(testing::test_seed(8));
  for (const auto& [objective, gradient] :
       {std::pair{TrainingObjective::elbo, EncoderGradient::sticking_the_landing},
        std::pair{TrainingObjective::iwae, EncoderGradient::sticking_the_landing},
        std::pair{TrainingObjective::iwae, EncoderGradient::doubly_reparameterized}}) {
    const Index S = 3;
    MatrixF noise(2, v.X.cols() * S);
    fill_standard_normal(noise, rng);
    VaeObjectiveWorkspace ws;
    VectorF path, standard;
    VectorD values;
    vae_objective(v.encoder, v.decoder, v.X, noise, objective_options(objective, S, gradient), ws, &path, nullptr,
                  &values);
    vae_objective(v.encoder, v.decoder, v.X, noise, objective_options(objective, S, EncoderGradient::reparameterized),
                  ws, &standard, nullptr);
    const std::string what = to_string(objective) + " " + to_string(gradient);
    EXPECT_GT(standard.cwiseAbs().maxCoeff(), 0.1) << what;
    EXPECT_LT(path.cwiseAbs().maxCoeff(), 1e-4) << what;
    // The per-sample log weights are all log p(x): the objective has no noise either.
    VectorD again;
    fill_standard_normal(noise, rng);
    vae_objective(v.encoder, v.decoder, v.X, noise, objective_options(objective, S, gradient), ws, nullptr, nullptr,
                  &again);
    EXPECT_LT((values - again).cwiseAbs().maxCoeff(), 1e-4) << what;
  }
}

// Unbiasedness: over many noise draws the STL-ELBO gradient averages to the reparameterized ELBO
// gradient, and DReG to the reparameterized IWAE gradient. One datapoint repeated over a batch of
// `columns` columns gives the mean of that many independent gradient differences in one call;
// `blocks` such means, nearly Gaussian by the CLT, give t_i = mean_i / se_i ~ Student t (blocks - 1)
// per coordinate when the expectations agree. The coordinates are strongly correlated (all are J^T
// of the 2d = 4 gradients in q's outputs), so max_i |t_i| is compared with the Bonferroni bound:
// P(max_i |t_i| > c) <= used * P(|t| > c) = 1e-4 for any correlation. Power check: STL on the IWAE
// is biased (Tucker et al. 2018), and the same statistic must reject it (max |t| >= 45, 8x the
// bound, over offsets 0..60).
TEST(PathGradient, HasTheExpectationOfTheReparameterizedGradient) {
  SmallVae v = make_small_vae(1, 23);
  // A fixed datapoint with two zero inputs: exactly the 2 x 6 first-layer weights of those inputs
  // have a zero gradient, so `used` = P - 12 > P / 2 by construction (a random x could be mostly 0).
  v.X.col(0) << 1, 1, 0, 1, 1, 0, 1, 1;
  const Index zero_inputs = 2, hidden = v.encoder.network().layers()[0].output_dim();
  const Index columns = 1000, blocks = 40;
  const MatrixF X = v.X.replicate(1, columns);
  for (const auto& [objective, gradient, S] :
       {std::tuple{TrainingObjective::elbo, EncoderGradient::sticking_the_landing, Index{1}},
        std::tuple{TrainingObjective::iwae, EncoderGradient::doubly_reparameterized, Index{4}},
        std::tuple{TrainingObjective::iwae, EncoderGradient::sticking_the_landing, Index{4}}}) {
    const bool biased = objective == TrainingObjective::iwae && gradient == EncoderGradient::sticking_the_landing;
    Rng rng(testing::test_seed(99));
    MatrixF noise(2, columns * S);
    const Index P = v.encoder.network().num_parameters();
    MatrixD differences(P, blocks);
    VaeObjectiveWorkspace ws;
    for (Index k = 0; k < blocks; ++k) {
      fill_standard_normal(noise, rng);
      VectorF path, standard;
      vae_objective(v.encoder, v.decoder, X, noise, objective_options(objective, S, gradient), ws, &path, nullptr);
      vae_objective(v.encoder, v.decoder, X, noise, objective_options(objective, S, EncoderGradient::reparameterized),
                    ws, &standard, nullptr);
      differences.col(k) = (path - standard).cast<double>();
    }
    const VectorD mean = differences.rowwise().mean();
    const VectorD variance =
        (differences.colwise() - mean).rowwise().squaredNorm() / static_cast<double>(blocks - 1);
    double max_t = 0.0;
    Index used = 0, worst = -1;
    for (Index i = 0; i < P; ++i)
      if (variance(i) > 0.0) {
        const double t = std::abs(mean(i)) / std::sqrt(variance(i) / static_cast<double>(blocks));
        if (t > max_t) {
          max_t = t;
          worst = i;
        }
        ++used;
      }
    const std::string what = to_string(objective) + " " + to_string(gradient);
    EXPECT_EQ(used, P - zero_inputs * hidden) << what;
    const boost::math::students_t t_distribution(static_cast<double>(blocks - 1));
    const double bound = boost::math::quantile(boost::math::complement(t_distribution, 1e-4 / (2.0 * used)));
    if (biased)
      EXPECT_GT(max_t, bound) << what << ": the known bias is not detected";
    else
      EXPECT_LT(max_t, bound) << what << ": coordinate " << worst;
  }
}

// With one importance sample w̃ = 1, so DReG's weight w̃² equals STL's w̃: the same gradient.
TEST(PathGradient, DregIsStlForOneImportanceSample) {
  const SmallVae v = make_small_vae(3, 41);
  Rng rng(testing::test_seed(2));
  MatrixF noise(2, 3);
  fill_standard_normal(noise, rng);
  VaeObjectiveWorkspace ws;
  VectorF dreg, stl;
  vae_objective(v.encoder, v.decoder, v.X, noise,
                objective_options(TrainingObjective::iwae, 1, EncoderGradient::doubly_reparameterized), ws, &dreg,
                nullptr);
  vae_objective(v.encoder, v.decoder, v.X, noise,
                objective_options(TrainingObjective::iwae, 1, EncoderGradient::sticking_the_landing), ws, &stl, nullptr);
  EXPECT_LT((dreg - stl).cwiseAbs().maxCoeff(), 1e-6 * (1.0 + stl.cwiseAbs().maxCoeff()));
}

TEST(PathGradient, RejectsCombinationsWithoutAPathForm) {
  VaeObjectiveOptions o;
  o.encoder_gradient = EncoderGradient::sticking_the_landing;  // with the analytic KL
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.kl_estimator = KlEstimator::monte_carlo;
  EXPECT_NO_THROW(o.validate());
  o.encoder_gradient = EncoderGradient::doubly_reparameterized;  // DReG on the ELBO
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o.objective = TrainingObjective::iwae;
  EXPECT_NO_THROW(o.validate());
  EXPECT_EQ(parse_encoder_gradient("stl"), EncoderGradient::sticking_the_landing);
  EXPECT_EQ(parse_encoder_gradient("dreg"), EncoderGradient::doubly_reparameterized);
  EXPECT_EQ(parse_encoder_gradient(to_string(EncoderGradient::reparameterized)), EncoderGradient::reparameterized);
  EXPECT_THROW(parse_encoder_gradient("score"), std::invalid_argument);

  const SmallVae v = make_small_vae(2, 1);
  Rng rng(testing::test_seed(1));
  AffineCouplingFlowArchitecture architecture;
  architecture.num_layers = 1;
  architecture.hidden_sizes = {4};
  AffineCouplingFlow flow(architecture);
  flow.initialize(rng);
  MatrixF noise(2, 2 * 3);
  fill_standard_normal(noise, rng);
  VaeObjectiveWorkspace ws;
  VectorF g;
  EXPECT_THROW(vae_objective(v.encoder, &flow, v.decoder, v.X, noise,
                             objective_options(TrainingObjective::iwae, 3, EncoderGradient::doubly_reparameterized), ws,
                             &g, nullptr, nullptr),
               std::invalid_argument);
}

}  // namespace
}  // namespace vigap
