#pragma once
// The leapfrog (Störmer–Verlet) integrator of Hamiltonian dynamics, batched over columns.
#include "core/types.hpp"
#include "samplers/hmc_target.hpp"

namespace vigap {

/// A batch of phase-space points: positions z, momenta p (both d x N) and the target evaluated at z.
struct PhaseSpaceState {
  MatrixD position;             ///< d x N
  MatrixD momentum;             ///< d x N
  TargetEvaluation evaluation;  ///< the target at position (log density, gradient, auxiliary)
};

/// Kinetic energy K(p) = ½ Σ_j m⁻¹_j p_j² per column, with diagonal inverse mass M⁻¹ (d x N).
VectorD kinetic_energy(const MatrixD& momentum, const MatrixD& inverse_mass);

/// Hamiltonian H(z, p) = -log π(z) + K(p) per column (log π taken from state.evaluation).
VectorD hamiltonian(const PhaseSpaceState& state, const MatrixD& inverse_mass);

/// Advances every column by `steps` leapfrog steps of its own size ε_c (step_sizes has N entries)
/// for H(z, p) = -log π(z) + ½ pᵀ M⁻¹ p, with M⁻¹ = diag(inverse_mass.col(c)):
///   p ← p + (ε/2) ∇log π(z);  z ← z + ε M⁻¹ p;  p ← p + (ε/2) ∇log π(z)   (repeated, half steps fused).
/// Each step costs one target call over all N columns (steps calls in total); state.evaluation
/// is left at the final positions. The map is volume preserving and reversible: negating the
/// momentum and integrating again returns to the start (up to rounding).
/// Returns the number of target column evaluations (steps · N).
Index leapfrog_integrate(const BatchLogDensity& target, const VectorD& step_sizes, const MatrixD& inverse_mass,
                         Index steps, PhaseSpaceState& state);

}  // namespace vigap
