#include "core/data/binarization.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace vigap {
namespace {

TEST(Binarization, ThresholdIsStrictlyGreaterThan) {
  MatrixF images(2, 3);
  images << 0.0f, 0.5f, 0.51f, 1.0f, 0.49f, 0.5f;
  MatrixF expected(2, 3);
  expected << 0, 0, 1, 1, 0, 0;
  EXPECT_EQ(binarize_threshold(images, 0.5f), expected);
  EXPECT_EQ(binarize_threshold(images, 0.0f), (MatrixF(2, 3) << 0, 1, 1, 1, 1, 1).finished());
  EXPECT_EQ(binarize_threshold(images, 1.0f), MatrixF::Zero(2, 3));
}

TEST(Binarization, RejectsThresholdOutsideUnitInterval) {
  const MatrixF images = MatrixF::Constant(2, 2, 0.5f);
  EXPECT_THROW(binarize_threshold(images, -0.1f), std::invalid_argument);
  EXPECT_THROW(binarize_threshold(images, 1.5f), std::invalid_argument);
  EXPECT_THROW(binarize_threshold(images, std::nanf("")), std::invalid_argument);
}

TEST(Binarization, DynamicMeanMatchesPixelValues) {
  const Index draws = 20000;
  const float p[] = {0.0f, 0.03f, 0.5f, 0.9f, 1.0f};
  MatrixF images(5, draws);
  for (Index i = 0; i < 5; ++i) images.row(i).setConstant(p[i]);
  Rng rng(42);
  const MatrixF binary = binarize_dynamic(images, rng);
  EXPECT_TRUE(((binary.array() == 0.0f) || (binary.array() == 1.0f)).all());
  for (Index i = 0; i < 5; ++i) {
    const double mean = binary.row(i).cast<double>().mean();
    const double standard_error = std::sqrt(p[i] * (1.0 - p[i]) / static_cast<double>(draws));
    EXPECT_NEAR(mean, p[i], 5.0 * standard_error + 1e-12) << "pixel value " << p[i];
  }
}

TEST(Binarization, DynamicIsDeterministicForFixedSeed) {
  MatrixF images = MatrixF::Constant(30, 40, 0.3f);
  Rng a(7), b(7), c(8);
  const MatrixF first = binarize_dynamic(images, a);
  EXPECT_EQ(first, binarize_dynamic(images, b));
  EXPECT_NE(first, binarize_dynamic(images, c));
}

TEST(Binarization, DynamicRejectsPixelsOutsideUnitInterval) {
  MatrixF images = MatrixF::Constant(2, 2, 0.5f);
  images(1, 1) = 1.2f;
  Rng rng(1);
  EXPECT_THROW(binarize_dynamic(images, rng), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
