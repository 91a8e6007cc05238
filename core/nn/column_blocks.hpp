#pragma once
// Fixed column blocks: every batched network evaluation runs on blocks of exactly
// kColumnBlockWidth columns (the last one padded), so that a column's result is the same bits
// whatever the batch width, the column's offset in the batch and the number of threads.
//
// Why: Eigen's matrix product picks its path and cache blocking from the matrix shape (a
// matrix-vector product for one column, the micro-kernel's tail for the last n mod nr columns),
// and a vectorized elementwise loop handles the last size mod packet entries one at a time;
// each gives a column different rounding depending on the batch it is in. On a block of a fixed
// width that is a multiple of every packet size (16 floats with AVX-512), every column takes
// the same path. The width was chosen by measurement (bench/ais_throughput.cpp and the README):
// 32 columns keeps the decoder's products within a few percent of wide-batch throughput while
// padding a 2-chain pilot run or a batch of 100 columns costs little.
#include <algorithm>
#include <functional>

#include "core/parallel/worker_pool.hpp"
#include "core/types.hpp"

namespace vigap {

/// Columns per block; a multiple of 16 (the widest float packet).
inline constexpr Index kColumnBlockWidth = 32;

/// How a workspace splits a batch's columns into blocks (see Mlp::Workspace::balanced_blocks).
enum class ColumnBlocking {
  /// kColumnBlockWidth-wide blocks, the last one padded: a column's output is the same bits at
  /// any batch width and position (evaluation, samplers, quadrature).
  fixed,
  /// column_block_count(N) unpadded blocks of nearly equal width: faster for training batches;
  /// results depend on the batch width, not on the thread count.
  balanced,
};

/// ceil(columns / kColumnBlockWidth).
inline Index column_block_count(Index columns) { return (columns + kColumnBlockWidth - 1) / kColumnBlockWidth; }

/// The first column of a block, how many real (not padding) columns it holds, and its width.
struct ColumnBlock {
  Index first = 0;
  Index count = 0;
  Index width = kColumnBlockWidth;
};
/// Block `block` of `columns`: kColumnBlockWidth wide, the last one padded.
inline ColumnBlock column_block(Index block, Index columns) {
  const Index first = block * kColumnBlockWidth;
  return {first, std::min(kColumnBlockWidth, columns - first), kColumnBlockWidth};
}
/// Block `block` of column_block_count(columns) blocks of nearly equal width, unpadded: for
/// training steps, where only independence from the thread count is needed (a column's bits
/// then depend on the batch width), and a batch of 100 would otherwise be padded to 128.
inline ColumnBlock balanced_column_block(Index block, Index columns) {
  const Index blocks = column_block_count(columns);
  const Index first = columns * block / blocks;
  const Index count = columns * (block + 1) / blocks - first;
  return {first, count, count};
}

/// out = the block's columns of `source` in a rows x block.width matrix, padding columns zero.
template <typename Source>
void copy_padded_block(const Source& source, ColumnBlock block, MatrixF& out) {
  out.resize(source.rows(), block.width);
  out.leftCols(block.count) = source.middleCols(block.first, block.count).template cast<float>();
  out.rightCols(block.width - block.count).setZero();
}

/// Blocks whose parameter gradients are held at once by for_each_block_summing_gradients.
inline constexpr Index kGradientWaveBlocks = 8;

/// Runs task(b) for every block b in [0, num_blocks) over the worker threads. With gradient
/// non-null, task(b) leaves block b's parameter gradient in block_gradient(b), and these are
/// added into *gradient in block order, kGradientWaveBlocks blocks at a time (bounded memory;
/// the sum does not depend on the thread count).
inline void for_each_block_summing_gradients(Index num_blocks, const std::function<void(Index)>& task,
                                             const std::function<const VectorF&(Index)>& block_gradient,
                                             VectorF* gradient) {
  if (gradient == nullptr) {
    parallel_for_tasks(num_blocks, task);
    return;
  }
  for (Index wave = 0; wave < num_blocks; wave += kGradientWaveBlocks) {
    const Index count = std::min(kGradientWaveBlocks, num_blocks - wave);
    parallel_for_tasks(count, [&](Index i) { task(wave + i); });
    for (Index i = 0; i < count; ++i) *gradient += block_gradient(wave + i);
  }
}

}  // namespace vigap
