#include "backends/torchscript/libtorch/torchscript_module.hpp"

#include <ATen/Parallel.h>
#include <caffe2/serialize/versions.h>
#include <omp.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/version.h>

#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include "backends/torchscript/libtorch/torchscript_runtime.hpp"
#include "core/io/zip_archive.hpp"

namespace vigap {

std::string libtorch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

std::string torchscript_archive_version(const std::string& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string bytes = buffer.str();
    if (!looks_like_zip(bytes)) return "";
    const ZipArchive archive(bytes, path);
    const ZipEntry* best = nullptr;
    for (const ZipEntry& entry : archive.entries()) {
      const std::string& n = entry.name;
      const bool is_version = n == "version" || (n.size() > 8 && n.compare(n.size() - 8, 8, "/version") == 0);
      if (is_version && (best == nullptr || n.size() < best->name.size())) best = &entry;
    }
    if (best == nullptr) return "";
    std::string text = archive.read(*best);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    return text.size() <= 32 ? text : "";
  } catch (const std::exception&) {
    return "";
  }
}

std::vector<long> torchscript_forward_output_shape(const std::string& path, const std::vector<long>& input_shape,
                                                   const std::string& role) {
  torch::jit::Module module = torchscript::load_module(path, role);
  torchscript::require_method(module, "forward", path, "the " + role + " needs");
  const torchscript::TorchCallScope scope;
  const torch::InferenceMode no_autograd;
  const torch::jit::IValue out =
      torchscript::call_method(module, "forward", {torch::zeros(input_shape, torch::kFloat32)}, path, role);
  if (!out.isTensor())
    throw std::invalid_argument("TorchScript " + role + " " + path + ": forward() returned " + out.tagKind() +
                                ", expected a tensor");
  return out.toTensor().sizes().vec();
}

namespace torchscript {

namespace {

/// The newest TorchScript file-format version this LibTorch reads (10 in 1.13).
constexpr int kMaxFileFormatVersion = static_cast<int>(caffe2::serialize::kMaxSupportedFileFormatVersion);

std::string version_advice(const std::string& path) {
  const std::string archive = torchscript_archive_version(path);
  std::string s = "LibTorch here is " + libtorch_version() + " (Debian's libtorch-dev 1.13), reading TorchScript file-format "
                  "versions <= " + std::to_string(kMaxFileFormatVersion) + "; ";
  s += archive.empty() ? std::string("the file records no readable format version (is it a TorchScript archive "
                                     "written by torch.jit.save?)")
                       : "the file records format version " + archive;
  return s + ". If a newer PyTorch wrote it, re-export it under PyTorch <= 1.13 (torch.jit.save(torch.jit.script(model), "
             "path); Debian's python3-torch is 1.13), or, for an MLP VAE, save its state_dict and use vigap-import";
}

}  // namespace

torch::jit::Module load_module(const std::string& path, const std::string& role) {
  if (!std::ifstream(path, std::ios::binary))
    throw std::invalid_argument("TorchScript " + role + " " + path + ": cannot open the file for reading");
  // A newer format version is refused here, before LibTorch sees it: torch::jit::load refuses it
  // too, but leaks its zip reader when it does (1.3 KB per call, which LeakSanitizer reports).
  const std::string version = torchscript_archive_version(path);
  if (!version.empty() && version.find_first_not_of("0123456789") == std::string::npos && version.size() < 9 &&
      std::stoi(version) > kMaxFileFormatVersion)
    throw std::invalid_argument("TorchScript " + role + " " + path + ": torch::jit::load cannot read it: its file-format "
                                "version " + version + " is newer than LibTorch " + libtorch_version() + " reads. " +
                                version_advice(path));
  try {
    const TorchCallScope scope;
    torch::jit::Module module = torch::jit::load(path, torch::kCPU);
    module.eval();
    return module;
  } catch (const c10::Error& e) {
    throw std::invalid_argument("TorchScript " + role + " " + path + ": torch::jit::load cannot read it: " +
                                e.what_without_backtrace() + ". " + version_advice(path));
  }
}

void require_method(const torch::jit::Module& module, const std::string& method, const std::string& path,
                    const std::string& why) {
  if (module.find_method(method)) return;
  std::string methods;
  for (const auto& m : module.get_methods()) methods += (methods.empty() ? "" : ", ") + m.name();
  throw std::invalid_argument("TorchScript module " + path + " has no method '" + method + "', which " + why +
                              " (its methods: " + (methods.empty() ? "none" : methods) +
                              "; export a method with @torch.jit.export)");
}

torch::jit::IValue call_method(const torch::jit::Module& module, const std::string& method,
                               std::vector<torch::jit::IValue> inputs, const std::string& path, const std::string& role) {
  std::string shapes;
  for (const torch::jit::IValue& input : inputs)
    shapes += (shapes.empty() ? "" : ", ") + (input.isTensor() ? shape_string(input.toTensor()) : input.tagKind());
  try {
    return module.get_method(method)(std::move(inputs));
  } catch (const c10::Error& e) {
    throw std::invalid_argument("TorchScript " + role + " " + path + ": " + method + "(" + shapes +
                                ") failed: " + e.what_without_backtrace());
  } catch (const std::runtime_error& e) {  // torch::jit::JITException: an exception raised in the module's code
    throw std::invalid_argument("TorchScript " + role + " " + path + ": " + method + "(" + shapes + ") failed: " + e.what());
  }
}

torch::Tensor as_tensor(const torch::jit::IValue& v, const std::string& what, const std::string& path) {
  if (!v.isTensor()) throw std::invalid_argument(what + " of " + path + ": expected a tensor, found " + v.tagKind());
  return v.toTensor();
}

TorchCallScope::TorchCallScope() : saved_threads_(omp_get_max_threads()) {
  static std::once_flag configured;
  std::call_once(configured, [] {
    at::set_num_threads(1);  // also omp_set_num_threads(1) on this thread: restored below
    try {
      at::set_num_interop_threads(1);
    } catch (const c10::Error&) {
      // already started by someone else: vigap never uses torch.jit.fork, so it stays idle
    }
  });
  omp_set_num_threads(1);
  torch::jit::setGraphExecutorOptimize(false);
}

TorchCallScope::~TorchCallScope() { omp_set_num_threads(saved_threads_); }

torch::Tensor tensor_view(MatrixF& m) {
  return torch::from_blob(m.data(), {static_cast<long>(m.cols()), static_cast<long>(m.rows())},
                          torch::TensorOptions().dtype(torch::kFloat32));
}

std::string shape_string(const torch::Tensor& t) {
  std::string s = "[";
  for (long i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

MatrixF matrix_from_tensor(const torch::Tensor& t, Index N, Index K, const std::string& what, const std::string& path) {
  // [N, K], or [N, ...] with K entries per row (an image decoder's [N, C, H, W]), read row-major as x.view(N, -1).
  if (t.dim() < 2 || t.size(0) != N || t.numel() != N * K || t.scalar_type() != torch::kFloat32)
    throw std::invalid_argument(what + " of " + path + ": expected a float32 tensor of shape [" + std::to_string(N) +
                                ", " + std::to_string(K) + "], found " + std::string(c10::toString(t.scalar_type())) +
                                " " + shape_string(t) + " (a [" + std::to_string(N) + ", ...] tensor with " +
                                std::to_string(K) + " entries per row, flattened as x.view(N, -1), also works)");
  const torch::Tensor c = t.detach().contiguous();
  MatrixF m(K, N);
  std::copy(c.data_ptr<float>(), c.data_ptr<float>() + N * K, m.data());
  return m;
}

Index first_nonfinite_column(const MatrixF& m, Index count) {
  for (Index c = 0; c < count; ++c)
    if (!m.col(c).allFinite()) return c;
  return -1;
}

std::string column_string(const MatrixF& Z, Index c, const std::string& name) {
  std::ostringstream s;
  s.precision(9);
  s << name << " = (";
  for (Index j = 0; j < Z.rows(); ++j) s << (j ? ", " : "") << Z(j, c);
  s << ")";
  return s.str();
}

}  // namespace torchscript

}  // namespace vigap
