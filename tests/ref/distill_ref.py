"""Reference distillation losses for tests/test_distill_loss.c, computed with PyTorch autograd.

Student logits S (4 rows x 3), two teachers Z1, Z2 (an ensemble: soft targets are the mean of their
probabilities), temperature T = 2. Prints one line per check: name followed by the loss and then the
gradient of the loss w.r.t. S (row-major). Batch losses are means over rows, as the C code reduces them.
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
# Must match S, Z1, Z2 and TEMP in tests/test_distill_loss.c.
S0 = torch.tensor([[1.0, -0.5, 2.0], [0.3, 0.2, -1.0], [-2.0, 1.5, 0.0], [0.7, 0.7, 0.1]])
Z1 = torch.tensor([[2.0, 0.0, 1.0], [-1.0, 3.0, 0.5], [0.0, 0.0, 0.0], [1.2, -0.4, 2.2]])
Z2 = torch.tensor([[0.5, 1.0, -1.0], [2.0, 0.1, 0.3], [-3.0, 2.0, 1.0], [0.0, 0.9, -0.6]])
T = 2.0


def out(name, loss, grad):
    print(name, "%.12g" % float(loss), " ".join("%.12g" % float(g) for g in grad.reshape(-1)))


def run(name, fn):
    S = S0.clone().requires_grad_(True)
    loss = fn(S)
    loss.backward()
    out(name, loss, S.grad)


# Soft-target KD: T^2 * KL(p || softmax(S/T)), mean over rows ("batchmean").
p1 = F.softmax(Z1 / T, dim=1)
run("soft_ce_one", lambda S: T * T * F.kl_div(F.log_softmax(S / T, dim=1), p1, reduction="batchmean"))
pe = (F.softmax(Z1 / T, dim=1) + F.softmax(Z2 / T, dim=1)) / 2
run("soft_ce_ensemble", lambda S: T * T * F.kl_div(F.log_softmax(S / T, dim=1), pe, reduction="batchmean"))
# The same as soft-target cross-entropy minus the targets' entropy (a constant): same gradient.
run("soft_ce_as_ce", lambda S: T * T * (-(pe * F.log_softmax(S / T, dim=1)).sum(1).mean()
                                        + (pe * pe.log()).sum(1).mean()))
# Multi-label: T^2 * BCE(sigmoid(S/T), mean of sigmoid(Z/T)), mean over rows and labels.
ps = (torch.sigmoid(Z1 / T) + torch.sigmoid(Z2 / T)) / 2
run("sigmoid_bce_ensemble", lambda S: T * T * F.binary_cross_entropy_with_logits(S / T, ps))
# Regression: MSE to the mean teacher output.
run("mse_ensemble", lambda S: F.mse_loss(S, (Z1 + Z2) / 2))
# The full mix for one classification task: alpha * CE(S, y) + (1 - alpha) * KD, times loss_weight.
y = torch.tensor([2, 1, 0, 2])
alpha, lam = 0.3, 1.5
run("mix_ce_kd", lambda S: lam * (alpha * F.cross_entropy(S, y)
                                  + (1 - alpha) * T * T * F.kl_div(F.log_softmax(S / T, dim=1), pe,
                                                                   reduction="batchmean")))
