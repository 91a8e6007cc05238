#include "core/data/dataset.hpp"

#include <gtest/gtest.h>

namespace vigap {
namespace {

TEST(Dataset, SubsetAndHeadKeepImagesWithLabels) {
  Dataset dataset;
  dataset.name = "numbered";
  dataset.images = MatrixF(1, 6);
  dataset.images << 0, 1, 2, 3, 4, 5;
  dataset.labels = {0, 1, 2, 3, 4, 5};
  dataset.image_rows = dataset.image_cols = 1;
  const Dataset picked = subset(dataset, {4, 1, 4});
  EXPECT_EQ(picked.labels, (std::vector<int>{4, 1, 4}));
  EXPECT_EQ(picked.images(0, 1), 1.0f);
  EXPECT_EQ(head(dataset, 2).labels, (std::vector<int>{0, 1}));
  EXPECT_EQ(head(dataset, 0).size(), 0);
  EXPECT_THROW(subset(dataset, {6}), std::invalid_argument);
  EXPECT_THROW(head(dataset, 7), std::invalid_argument);
}

}  // namespace
}  // namespace vigap
