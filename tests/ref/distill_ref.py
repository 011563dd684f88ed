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

# Intermediate layers. Hidden states: student HS (5 x 3), teacher HT (5 x 4), the last row padding (mask 0);
# projection W (4 x 3), b (4). Loss: mean over real rows and teacher dims of (HS W^T + b - HT)^2.
HS0 = torch.tensor([[0.5, -1.0, 0.2], [1.5, 0.3, -0.7], [0.0, 0.4, 0.9], [-0.6, -0.2, 0.1], [3.0, 3.0, 3.0]])
HT = torch.tensor([[0.1, 0.2, -0.3, 0.4], [1.0, -1.0, 0.5, 0.0], [0.3, 0.3, 0.3, -0.9], [-0.5, 0.8, 0.0, 0.2],
                   [9.0, 9.0, 9.0, 9.0]])
W0 = torch.tensor([[0.2, -0.1, 0.4], [0.3, 0.5, -0.2], [-0.4, 0.1, 0.1], [0.0, 0.6, -0.3]])
B0 = torch.tensor([0.05, -0.1, 0.0, 0.2])
mask = torch.tensor([1, 1, 1, 1, 0], dtype=torch.bool)
HS, W, Bb = (x.clone().requires_grad_(True) for x in (HS0, W0, B0))
loss = F.mse_loss((HS @ W.t() + Bb)[mask], HT[mask])
loss.backward()
print("hidden", "%.12g" % float(loss), " ".join("%.12g" % float(g) for g in
                                            torch.cat([HS.grad.reshape(-1), W.grad.reshape(-1), Bb.grad])))

# Attention maps, B=1, T=3, the last token padding (its query row is not compared). Same head count (2):
# mean over (real query rows, heads) of the sum over keys of squared differences; different head counts
# (2 vs 3): the head-averaged maps are compared.
g = torch.Generator().manual_seed(5)
AS0 = F.softmax(torch.randn(1, 2, 3, 3, generator=g), dim=-1)
AT2 = F.softmax(torch.randn(1, 2, 3, 3, generator=g), dim=-1)
AT3 = F.softmax(torch.randn(1, 3, 3, 3, generator=g), dim=-1)
rows = torch.tensor([1, 1, 0], dtype=torch.bool)


def attn_loss(a, t):
    d = ((a - t) ** 2).sum(-1)[:, :, rows]  # (B, H, real rows)
    return d.mean()


print("attn_inputs", " ".join("%.12g" % float(x) for x in torch.cat([AS0.reshape(-1), AT2.reshape(-1), AT3.reshape(-1)])))
AS = AS0.clone().requires_grad_(True)
loss = attn_loss(AS, AT2)
loss.backward()
print("attn_same", "%.12g" % float(loss), " ".join("%.12g" % float(x) for x in AS.grad.reshape(-1)))
AS = AS0.clone().requires_grad_(True)
loss = attn_loss(AS.mean(1, keepdim=True), AT3.mean(1, keepdim=True))
loss.backward()
print("attn_avg", "%.12g" % float(loss), " ".join("%.12g" % float(x) for x in AS.grad.reshape(-1)))
