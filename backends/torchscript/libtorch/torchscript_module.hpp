#pragma once
// Internal to the TorchScript backend (includes LibTorch): loading a module with clear errors,
// running it single-threaded inside vigap's worker pool, and moving Eigen matrices in and out.
#include <torch/script.h>

#include <string>

#include "core/types.hpp"

namespace vigap::torchscript {

/// torch::jit::load(path) in eval mode. A c10::Error becomes std::invalid_argument naming the
/// file, what LibTorch said, LibTorch's version, the archive's format version when readable, and
/// what to do (re-export with torch.jit.save under PyTorch <= 1.13, or use vigap-import for an MLP
/// state_dict). `role` ("decoder", "encoder") names the module in messages.
torch::jit::Module load_module(const std::string& path, const std::string& role);

/// Throws std::invalid_argument naming the file when `module` has no method `method`.
void require_method(const torch::jit::Module& module, const std::string& method, const std::string& path,
                    const std::string& why);

/// module.<method>(inputs). A c10::Error (the module failed: an input of a shape it does not take,
/// ...) becomes std::invalid_argument "TorchScript <role> <path>: <method>(<input shapes>) failed: <what>".
torch::jit::IValue call_method(const torch::jit::Module& module, const std::string& method,
                               std::vector<torch::jit::IValue> inputs, const std::string& path, const std::string& role);

/// v as a tensor; std::invalid_argument "<what> of <path>: expected a tensor, found <kind>" otherwise.
torch::Tensor as_tensor(const torch::jit::IValue& v, const std::string& what, const std::string& path);

/// For the scope of one module call on the current thread: LibTorch single-threaded (OpenMP's
/// nthreads ICV of this thread set to 1, as LibTorch's OpenMP backend reads it) and the graph
/// executor's optimizations off (the module runs op by op, the same ops on every call); restores
/// the thread's OpenMP setting, which vigap's --threads lives in, on exit. The first scope also
/// calls at::set_num_threads(1) and at::set_num_interop_threads(1) once for the process.
class TorchCallScope {
 public:
  TorchCallScope();
  ~TorchCallScope();
  TorchCallScope(const TorchCallScope&) = delete;
  TorchCallScope& operator=(const TorchCallScope&) = delete;

 private:
  int saved_threads_;
};

/// A float32 tensor [cols, rows] sharing the memory of the column-major rows x cols matrix `m`
/// (column-major d x N is row-major N x d): the caller keeps `m` alive and unchanged.
torch::Tensor tensor_view(MatrixF& m);

/// The contiguous float32 CPU copy of `t` ([N, K], or [N, ...] with K entries per row, flattened
/// row-major as x.view(N, -1): an image decoder's [N, C, H, W]) as a K x N column-major matrix.
/// Throws std::invalid_argument "<what> of <path>: expected a float32 tensor of shape [N, K],
/// found ..." when the shape or dtype differs.
MatrixF matrix_from_tensor(const torch::Tensor& t, Index N, Index K, const std::string& what, const std::string& path);

/// "[2, 784]" for a tensor's sizes.
std::string shape_string(const torch::Tensor& t);

/// The index of the first column of `m` holding a NaN or ±inf among the first `count`, or -1.
Index first_nonfinite_column(const MatrixF& m, Index count);

/// "z = (0.1, -2)" for column c of Z.
std::string column_string(const MatrixF& Z, Index c, const std::string& name);

}  // namespace vigap::torchscript
